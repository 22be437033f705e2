"""Form widgets that stay cheap on pages with long choice lists."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import SafeString, mark_safe


def _attrs(attrs: dict[str, Any]) -> str:
    """Django's widgets/attrs.html in Python: True gives a bare attribute, False none."""
    out = []
    for name, value in attrs.items():
        if value is False or value is None:
            continue
        out.append(f" {conditional_escape(name)}" if value is True else format_html(' {}="{}"', name, str(value)))
    return "".join(out)


class FastSelect(forms.Select):
    """A <select> drawn in Python: the same markup as Django's select.html, without one template
    include per option. The work queue's officer filter offers every officer of the bank to a
    head-office manager (400 in the benchmark book): drawn by templates, its options cost more
    than the whole page's SQL (issue 13, bench/bench_dashboard.py)."""

    def render(self, name: str, value: Any, attrs: dict | None = None, renderer: Any = None) -> SafeString:
        widget = self.get_context(name, value, attrs)["widget"]
        parts = [format_html('<select name="{}"', widget["name"]), _attrs(widget["attrs"]), ">"]
        for group_name, options, _index in widget["optgroups"]:
            if group_name:
                parts.append(format_html('\n  <optgroup label="{}">', group_name))
            for option in options:
                parts.append(format_html('\n  <option value="{}"', str(option["value"])))
                parts.append(_attrs(option["attrs"]))
                parts.append(format_html(">{}</option>\n", option["label"]))
            if group_name:
                parts.append("\n  </optgroup>")
        parts.append("\n</select>")
        return mark_safe("".join(parts))  # noqa: S308 - every value above is escaped
