from django import template
from django.utils.html import format_html

from collections_app import selectors
from collections_app.selectors import LoanCases

register = template.Library()


@register.simple_tag
def loan_cases(loan, as_of) -> LoanCases:
    """The loan page's case buttons: its open (else latest) case, and whether one may be opened
    (case_rules.may_open_case, the rule the opener itself applies)."""
    return selectors.loan_cases(loan=loan, as_of=as_of)


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
