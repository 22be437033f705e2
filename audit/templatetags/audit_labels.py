"""{{ event.event_type|event_label }}, {{ "state"|field_label }}, {{ "imposed"|record_state_label }}"""

from __future__ import annotations

from django import template

from audit.labels import event_label as _event_label
from audit.labels import field_label as _field_label

register = template.Library()


@register.filter
def event_label(code: str) -> str:
    return _event_label(code or "")


@register.filter
def field_label(name: str) -> str:
    return _field_label(name or "")


@register.filter
def record_state_label(state: str) -> str:
    from accountability.models import RecordState

    try:
        return str(RecordState(state).label)
    except ValueError:
        return state
