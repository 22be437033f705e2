"""The audit page's table: when, what, by whom, about what, and the values before and after."""

from __future__ import annotations

import django_tables2 as tables
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from audit.describe import SUBJECT_URLS, Describer, event_dict, subject_label
from audit.labels import event_label
from audit.models import AuditEvent


class AuditTable(tables.Table):
    created_at = tables.DateTimeColumn(format="Y-m-d H:i:s", verbose_name=_("When"))
    event_type = tables.Column(verbose_name=_("Event"), orderable=False)
    actor = tables.Column(verbose_name=_("By"), orderable=False, default=_("The system"))
    branch = tables.Column(accessor="branch__name", verbose_name=_("Branch"), orderable=False, default="—")
    subject = tables.Column(accessor="subject_id", verbose_name=_("About"), orderable=False)
    changes = tables.Column(empty_values=(), verbose_name=_("Before and after"), orderable=False)
    reason = tables.Column(verbose_name=_("Reason"), orderable=False, default="")

    class Meta:
        model = AuditEvent
        fields = ["created_at", "event_type", "actor", "branch", "subject", "changes", "reason"]
        attrs = {"class": "table audit-table"}
        order_by = ("-created_at",)
        template_name = "django_tables2/table.html"
        empty_text = _("No event matches.")

    def __init__(self, *args, describer: Describer | None = None, links: bool = True, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.describer = describer or Describer()
        self.links = links

    def render_event_type(self, value, record):
        return event_label(value)

    def render_actor(self, value, record):
        return record.actor.display_name

    def render_subject(self, value, record):
        label = f"{subject_label(record.subject_type)} {record.subject_id}"
        url_name = SUBJECT_URLS.get(record.subject_type)
        if self.links and url_name:
            return format_html('<a href="{}">{}</a>', reverse(url_name, args=[record.subject_id]), label)
        return label

    def render_changes(self, record):
        changes = self.describer.changes(event_dict(record))
        if not changes:
            return "—"
        rows = format_html_join(
            "",
            '<tr><th scope="row">{}</th><td class="old">{}</td><td class="new">{}</td></tr>',
            ((c.field, c.old, c.new) for c in changes),
        )
        return format_html(
            '<table class="changes"><thead><tr><th></th><th>{}</th><th>{}</th></tr></thead><tbody>{}</tbody></table>',
            _("Before"),
            _("After"),
            rows,
        )
