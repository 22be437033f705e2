from __future__ import annotations

import django_tables2 as tables
from django.utils.translation import gettext_lazy as _

from legal.models import DebtorAsset


class AssetTable(tables.Table):
    """The debtor's asset register (borrower and guarantors)."""

    owner = tables.Column(empty_values=(), verbose_name=_("Owner"), orderable=False)
    kind = tables.Column(verbose_name=_("Kind"))
    description = tables.Column(verbose_name=_("Description"))
    where_found = tables.Column(verbose_name=_("Where found"))
    found_on = tables.Column(verbose_name=_("Found on"))
    estimated_value = tables.Column(
        verbose_name=_("Estimated value"), attrs={"td": {"class": "num"}, "th": {"class": "num"}}
    )
    preserved = tables.Column(empty_values=(), verbose_name=_("Preservation"), orderable=False)
    sold_on = tables.Column(verbose_name=_("Sold on"))

    class Meta:
        model = DebtorAsset
        fields = ["owner", "kind", "description", "where_found", "found_on", "estimated_value", "preserved", "sold_on"]
        attrs = {"class": "table", "id": "asset-register"}
        order_by = ("-found_on",)
        empty_text = _("No asset recorded yet.")

    def render_owner(self, record: DebtorAsset) -> str:
        return record.owner.name

    def render_estimated_value(self, value) -> str:
        return f"{value:,.2f}"

    def render_preserved(self, record: DebtorAsset) -> str:
        orders = [o for o in record.preservation_orders.all() if o.released_on is None]
        if not orders:
            return "—"
        return ", ".join(f"{o.get_kind_display()} → {o.expires_on:%Y-%m-%d}" for o in orders)
