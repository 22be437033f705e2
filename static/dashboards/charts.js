// Draws every <div data-chart="option-id"> with Apache ECharts (vendored in static/vendor/echarts),
// from the option in the JSON script element whose id it names. The page's language picks the
// ECharts locale ("ZH" for zh-hans). No inline script or style: the Content-Security-Policy forbids
// both; tooltips render as rich text on the canvas, not as HTML with inline styles.
(function () {
  "use strict";
  const charts = [];

  function locale() {
    const lang = (document.documentElement.lang || "en").toLowerCase();
    return lang.startsWith("zh") ? "ZH" : "EN";
  }

  // Money and counts: the option may name a formatter by key; functions cannot travel in JSON.
  const numberFormat = new Intl.NumberFormat(document.documentElement.lang || "en", { maximumFractionDigits: 0 });
  const formatters = {
    number: (v) => numberFormat.format(v),
    percent: (v) => `${Number(v).toFixed(1)}%`,
  };

  function resolveFormatters(node) {
    if (Array.isArray(node)) {
      node.forEach(resolveFormatters);
    } else if (node && typeof node === "object") {
      for (const [key, value] of Object.entries(node)) {
        if ((key === "formatter" || key === "valueFormatter") && typeof value === "string" && formatters[value]) {
          node[key] = formatters[value];
        } else {
          resolveFormatters(value);
        }
      }
    }
  }

  function draw(root) {
    if (!window.echarts) return;
    for (const el of root.querySelectorAll("[data-chart]")) {
      if (el.dataset.drawn) continue;
      const source = document.getElementById(el.dataset.chart);
      if (!source) continue;
      const option = JSON.parse(source.textContent);
      option.tooltip = Object.assign({ renderMode: "richText" }, option.tooltip || {});
      resolveFormatters(option);
      const chart = window.echarts.init(el, null, { renderer: "canvas", locale: locale() });
      chart.setOption(option);
      el.dataset.drawn = "1";
      charts.push(chart);
    }
  }

  // Tables marked data-sortable sort by a click on a header with data-sort (their rows are few).
  function sortable(root) {
    for (const table of root.querySelectorAll("table[data-sortable]")) {
      if (table.dataset.sortReady) continue;
      table.dataset.sortReady = "1";
      table.querySelectorAll("th[data-sort]").forEach((th, index) => {
        th.classList.add("sortable");
        th.tabIndex = 0;
        const sort = () => {
          const descending = th.getAttribute("aria-sort") !== "descending";
          table.querySelectorAll("th[aria-sort]").forEach((other) => other.removeAttribute("aria-sort"));
          th.setAttribute("aria-sort", descending ? "descending" : "ascending");
          const numeric = th.dataset.sort !== "text" && th.dataset.sort !== "date";
          const body = table.tBodies[0];
          const rows = Array.from(body.rows);
          const key = (row) => row.cells[index].dataset.value || "";
          rows.sort((a, b) => {
            const x = key(a), y = key(b);
            const order = numeric ? (parseFloat(x || "-1e30") - parseFloat(y || "-1e30")) : x.localeCompare(y);
            return descending ? -order : order;
          });
          rows.forEach((row) => body.appendChild(row));
        };
        th.addEventListener("click", sort);
        th.addEventListener("keydown", (e) => { if (e.key === "Enter") sort(); });
      });
    }
  }

  function ready() {
    draw(document);
    sortable(document);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", ready);
  else ready();
  window.addEventListener("resize", () => charts.forEach((c) => c.resize()));
})();
