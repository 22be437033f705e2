"""The non-performing classes are defined once (loans/classification.py); the general reserve works."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import pytest
from django.urls import reverse

from loans.classification import NON_PERFORMING_FIVE, NON_PERFORMING_FIVE_CODES, NON_PERFORMING_FIVE_SQL
from loans.selectors import book_summary
from tests.factories import LoanFactory

ROOT = Path(__file__).resolve().parent.parent
# A list of the three classes written out by hand, in Python or in SQL.
SPELLED_OUT = re.compile(r"""["']substandard["'],\s*["']doubtful["'],\s*["']loss["']""")
# Pending: the case opener's SQL, replaced by the case-eligibility selector (issue 8, collections part).
PENDING: set[str] = set()


def test_the_derived_forms_are_the_set():
    assert set(NON_PERFORMING_FIVE_CODES) == {c.value for c in NON_PERFORMING_FIVE}
    assert NON_PERFORMING_FIVE_SQL == "('substandard', 'doubtful', 'loss')"


def test_no_module_spells_out_the_non_performing_classes():
    offenders = [
        str(path.relative_to(ROOT))
        for folder in ("loans", "collections_app", "accountability", "notifications", "audit", "npl_recovery", "bench")
        for path in (ROOT / folder).rglob("*.py")
        if "migrations" not in path.parts
        and path.name != "classification.py"
        and SPELLED_OUT.search(path.read_text())
        and str(path.relative_to(ROOT)) not in PENDING
    ]
    assert offenders == []


@pytest.mark.django_db
def test_the_dashboard_shows_the_general_reserve(client, manager, branch, settings):
    LoanFactory(branch=branch, outstanding_principal=Decimal("80000.00"))
    LoanFactory(branch=branch, outstanding_principal=Decimal("40000.00"))
    client.force_login(manager)
    body = client.get(reverse("home")).content.decode()
    assert "General reserve" in body and "1,200.00" in body and "1% of all loans" in body
    settings.NPL_RULES = {"general_reserve_rate": "0.015"}
    summary = book_summary(user=manager)
    assert (summary.general_reserve, summary.general_reserve_percent) == (Decimal("1800.00"), "1.5")
    assert "1.5% of all loans" in client.get(reverse("home")).content.decode()
