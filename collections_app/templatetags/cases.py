from django import template
from django.utils.html import format_html

from collections_app.models import CollectionCase

register = template.Library()


@register.simple_tag
def loan_case(loan) -> CollectionCase | None:
    """The loan's open case, else its latest one (for the loan page)."""
    return (
        CollectionCase.objects.filter(loan=loan)
        .order_by("-is_open", "-opened_on", "-id")
        .only("id", "measure", "is_open", "opened_on", "loan_id")
        .first()
    )


@register.filter
def due_badge(value, today):
    """A date with how soon it is due: late in red, within 30 days in amber."""
    if value is None:
        return "—"
    days = (value - today).days
    if days < 0:
        return format_html('{} <span class="badge badge-bad">{} days late</span>', value.isoformat(), -days)
    if days <= 30:
        return format_html(
            '{} <span class="badge badge-warn">{} day{}</span>', value.isoformat(), days, "" if days == 1 else "s"
        )
    return value.isoformat()
