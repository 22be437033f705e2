// Small progressive enhancements; every page works without them.
document.addEventListener("click", (event) => {
  const target = event.target.closest("[data-confirm]");
  if (target && !window.confirm(target.dataset.confirm)) {
    event.preventDefault();
  }
});

// Bar widths come as data-width (percent): the Content-Security-Policy allows no inline style
// attributes, and styles set from a script file are allowed. Also on content htmx swaps in.
function applyWidths(root) {
  for (const el of root.querySelectorAll("[data-width]")) {
    el.style.width = `${el.dataset.width}%`;
  }
}
if (window.htmx) {
  htmx.onLoad(applyWidths);
} else {
  document.addEventListener("DOMContentLoaded", () => applyWidths(document));
}

// The phone's menu button opens and closes the main menu (w2loans).
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-menu-toggle]");
  if (!button) return;
  const nav = document.getElementById(button.getAttribute("aria-controls"));
  const open = !nav.classList.contains("open");
  nav.classList.toggle("open", open);
  button.closest(".topbar").classList.toggle("menu-open", open);
  button.setAttribute("aria-expanded", String(open));
});
