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
        # What Select.get_context/optgroups/create_option build, without a dict per option: a
        # select's options carry no attribute but "selected" (option_inherits_attrs is False).
        final_attrs = self.build_attrs(self.attrs, attrs)
        if self.allow_multiple_selected:
            final_attrs["multiple"] = True
        chosen = set(self.format_value(value))
        found = False
        parts = [format_html('<select name="{}"', name), _attrs(final_attrs), ">"]

        def option(option_value: Any, label: Any) -> None:
            nonlocal found
            text = "" if option_value is None else str(option_value)
            selected = (not found or self.allow_multiple_selected) and text in chosen
            found |= selected
            parts.append(
                format_html('\n  <option value="{}"{}>{}</option>\n', text, " selected" if selected else "", label)
            )

        for group_value, group_label in self.choices:
            if isinstance(group_label, list | tuple):
                parts.append(format_html('\n  <optgroup label="{}">', group_value))
                for option_value, label in group_label:
                    option(option_value, label)
                parts.append("\n  </optgroup>")
            else:
                option(group_value, group_label)
        parts.append("\n</select>")
        return mark_safe("".join(parts))  # noqa: S308 - every value above is escaped
