from django import template
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from collections_app import selectors
from collections_app.case_rules import LimitationAlert, limitation_alert
from collections_app.selectors import LoanCases
from collections_app.texts import TIMELINE_KINDS, stored_text
from npl_recovery.i18n import format_day

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
    shown = format_day(value, short=True)
    if days < 0:
        text = ngettext("%(n)s day late", "%(n)s days late", -days) % {"n": -days}
        return format_html('<span class="day">{}</span> <span class="badge badge-bad">{}</span>', shown, text)
    if days <= 30:
        text = ngettext("%(n)s day", "%(n)s days", days) % {"n": days}
        return format_html('<span class="day">{}</span> <span class="badge badge-warn">{}</span>', shown, text)
    return format_html('<span class="day">{}</span>', shown)


@register.simple_tag
def limitation_badge(expires_on, today, window):
    """The limitation end, red when the claim is time-barred or within the warning window (case_rules)."""
    if expires_on is None:
        return "—"
    alert = limitation_alert(expires_on, today, window)
    shown = format_day(expires_on, short=True)
    if alert == LimitationAlert.BARRED:
        return format_html(
            '<span class="day limitation-alert">{}</span> <span class="badge badge-bad">{}</span>',
            shown,
            _("time-barred"),
        )
    if alert == LimitationAlert.NEAR:
        days = (expires_on - today).days
        text = ngettext("%(n)s day left", "%(n)s days left", days) % {"n": days}
        return format_html(
            '<span class="day limitation-alert">{}</span> <span class="badge badge-bad">{}</span>', shown, text
        )
    return format_html('<span class="day">{}</span>', shown)


@register.filter
def timeline_kind(kind: str) -> str:
    return TIMELINE_KINDS.get(kind, "")


@register.filter
def reason_text(value: str) -> str:
    return stored_text(value or "")
