from __future__ import annotations

import json
from typing import Any

from django import template
from django.core.serializers.json import DjangoJSONEncoder
from django.utils.html import json_script

register = template.Library()


@register.filter
def get_item(mapping: dict | None, key: str) -> Any:
    return (mapping or {}).get(key)


@register.simple_tag
def chart(element_id: str, option: dict, label: str = "", height: str = "md") -> str:
    """A chart: a <div data-chart> the page's charts.js draws with ECharts from the option in a
    JSON script element beside it (no inline script: the Content-Security-Policy forbids it).
    `label` is the chart's accessible name; the figures are also in the panel's table."""
    from django.utils.html import format_html

    data_id = f"{element_id}-option"
    # Round-trip through DjangoJSONEncoder so Decimals and dates serialise.
    payload = json.loads(json.dumps(option, cls=DjangoJSONEncoder))
    return format_html(
        '<div class="chart chart-{}" id="{}" data-chart="{}" role="img" aria-label="{}"></div>{}',
        height,
        element_id,
        data_id,
        label,
        json_script(payload, data_id),
    )
