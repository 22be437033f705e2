"""The dashboard's panels, in page order. A panel is a module with `TEMPLATE` (a template under
templates/dashboards/panels/) and `context(query, user) -> dict`, the panel's figures; a panel that
shows a table also registers the table's builder (dashboards.tables.register_table) so it exports.

A panel reads kept figures only (dashboards.models, the month-end snapshots, indexed lists): no
scan of the loans per page view. Each panel owns its module and template.
"""

from __future__ import annotations

from importlib import import_module
from types import ModuleType

PANELS: list[str] = [
    "imports",  # recent imports, for those who import the loan book
    "headline",  # headline figures, both schemes, change since month and year start, recoveries
    "targets",  # yearly targets and progress (branch and officer)
    "trend",  # NPL balance by month, both schemes, from the snapshots (chart)
    "recoveries",  # recoveries by month and source, cash versus in kind (chart)
    "measures",  # cases by measure (chart)
    "migration",  # migration matrix between two month-ends (roll and cure rates)
    "branches",  # branches side by side, drill-down into the subtree
    "officers",  # the officer league
    "deadlines",  # time limits due in the next 30 days
    "legal_deadlines",  # limitation and other legal deadlines running out
    "promises",  # broken promises
    "flags",  # loans-by-loans and first-pay-off flags
]


def panel_modules() -> list[tuple[str, ModuleType]]:
    out = []
    for name in PANELS:
        try:
            out.append((name, import_module(f"dashboards.panels.{name}")))
        except ModuleNotFoundError as exc:
            if exc.name != f"dashboards.panels.{name}":
                raise
    return out
