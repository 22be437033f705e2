"""Issue 11, items 4 and 8 (queue part): full caliber and the guideline's emphasis.

Cases open for loans non-performing under either scheme (five-level substandard, doubtful, loss;
four-level idle and bad debt; four-level overdue past the technical delay behind a switch), and the
queue puts insiders first, then idle, doubtful and loss loans, then the rest by urgency.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from itertools import product

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.urls import reverse

from collections_app.case_rules import (
    EMPHASIS_INSIDER,
    EMPHASIS_OTHER,
    EMPHASIS_STRESSED,
    CollectionPolicy,
    case_emphasis,
)
from collections_app.models import CollectionCase
from collections_app.policy import collection_policy
from collections_app.selectors import emphasis_expression, loans_needing_a_case
from collections_app.services import case_open, cases_open_for_non_performing, opening
from loans.classification import FiveLevel, FourLevel
from loans.models import Borrower, Loan
from loans.policy import build_policy
from loans.services import borrower_update, loans_reclassify
from tests.factories import BorrowerFactory, LoanFactory

pytestmark = pytest.mark.django_db


def _reclassify(capture, *, as_of: date, loan_ids: list[int]) -> None:
    """Classify and run the on-commit receivers (the case opener) as a committed run would."""
    with capture(execute=True):
        loans_reclassify(as_of=as_of, loan_ids=loan_ids)


def _idle_only_loan(capture, branch, officer, today, **kwargs) -> Loan:
    """Business ceased, nothing overdue: five-level normal, four-level idle (the guideline's stress)."""
    kwargs.setdefault("borrower", BorrowerFactory(kind=Borrower.Kind.ENTERPRISE))
    loan = LoanFactory(branch=branch, responsible_officer=officer, business_ceased=True, **kwargs)
    _reclassify(capture, as_of=today, loan_ids=[loan.pk])
    loan.refresh_from_db()
    return loan


# --- full caliber -----------------------------------------------------------------------------------


def test_an_idle_loan_normal_under_five_levels_gets_a_case_when_it_is_classified(
    branch, officer, today, django_capture_on_commit_callbacks
):
    """Issue 11: loans non-performing only under the four-level scheme got no case, officer or time
    limit. Classified idle, the loan now gets its case at once (the reclassification's receiver)."""
    loan = _idle_only_loan(django_capture_on_commit_callbacks, branch, officer, today)
    assert (loan.five_level_class, loan.four_level_class) == (FiveLevel.NORMAL, FourLevel.IDLE)
    case = CollectionCase.objects.get(loan=loan, is_open=True)
    assert case.officer == officer and case.recovery_deadline == today + timedelta(days=180)
    assert case.emphasis == EMPHASIS_STRESSED


def test_a_bad_debt_loan_gets_a_case_by_hand_and_the_refusal_names_both_schemes(branch, officer, today):
    loan = LoanFactory(branch=branch, five_level_class="special_mention", four_level_class="bad_debt")
    case = case_open(loan=loan, actor=officer, as_of=today, reason="Bad debt under four levels")
    assert case.is_open
    normal = LoanFactory(branch=branch, five_level_class="special_mention", four_level_class="overdue")
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as refused:
        case_open(loan=normal, actor=officer, as_of=today, reason="x")
    message = " ".join(refused.value.messages)
    assert "either scheme" in message and "idle" in message and "substandard" in message


def test_four_level_overdue_past_the_technical_delay_gets_a_case_only_with_the_switch(branch, officer, today, settings):
    past_delay = LoanFactory(
        branch=branch, overdue_since=today - timedelta(days=30), five_level_class="special_mention"
    )
    within_delay = LoanFactory(branch=branch, overdue_since=today - timedelta(days=5))
    loans_reclassify(as_of=today, loan_ids=[past_delay.pk, within_delay.pk])
    assert set(
        Loan.objects.filter(pk__in=[past_delay.pk, within_delay.pk]).values_list("four_level_class", flat=True)
    ) == {"overdue"}
    assert not CollectionCase.objects.filter(loan__in=[past_delay, within_delay]).exists()

    settings.NPL_RULES = {"case_four_level_overdue": True}
    assert cases_open_for_non_performing(as_of=today) == 1
    assert CollectionCase.objects.filter(loan=past_delay, is_open=True).exists()
    assert not CollectionCase.objects.filter(loan=within_delay).exists()


def test_the_case_classes_are_a_setting(branch, today, settings):
    idle = LoanFactory(branch=branch, four_level_class="idle")
    substandard = LoanFactory(branch=branch, five_level_class="substandard", overdue_since=today - timedelta(days=100))
    settings.NPL_RULES = {"case_classes": {"five_level": ["substandard", "doubtful", "loss"], "four_level": []}}
    assert set(loans_needing_a_case(as_of=today)) == {substandard}
    settings.NPL_RULES = {"case_classes": {"four_level": ["idle"]}}  # five levels keep their default
    assert set(loans_needing_a_case(as_of=today)) == {idle, substandard}


@pytest.mark.parametrize(
    "rules, named",
    [
        ({"case_classes": ["idle"]}, "case_classes"),
        ({"case_classes": {"four_level": ["sleeping"]}}, "case_classes['four_level']"),
        ({"case_classes": {"five_level": ["normal", "loss"]}}, "cannot hold normal"),
        ({"case_four_level_overdue": "yes"}, "case_four_level_overdue"),
    ],
)
def test_a_bad_case_caliber_setting_stops_start_up_naming_the_key(rules, named, settings):
    settings.NPL_RULES = rules
    with pytest.raises(ImproperlyConfigured, match=named.replace("[", r"\[")):
        build_policy(CollectionPolicy)


def test_the_demo_book_has_cases_for_every_loan_non_performing_under_either_scheme(settings):
    """Issue 11: 70 demo loans were non-performing only under four levels (overdue, idle) and got no
    case. Now the idle ones get theirs from the demo seed itself, and with the switch on the overdue
    ones past the technical delay too; the ones within the technical delay never do."""
    from collections_app.demo import seed_demo as seed_cases
    from loans.demo import seed_demo as seed_loans

    as_of = date(2026, 11, 30)
    seed_loans(as_of=as_of)
    seed_cases(as_of=as_of)
    five_npl = {"substandard", "doubtful", "loss"}
    four_only = Loan.objects.exclude(five_level_class__in=five_npl).exclude(four_level_class="normal")
    idle_only = four_only.filter(four_level_class__in=["idle", "bad_debt"])
    assert idle_only.exists()
    assert not idle_only.exclude(collection_cases__is_open=True).exists()
    overdue_only = four_only.filter(four_level_class="overdue")
    assert overdue_only.count() == 70 and not CollectionCase.objects.filter(loan__in=overdue_only).exists()

    settings.NPL_RULES = {"case_four_level_overdue": True}
    opened = cases_open_for_non_performing(as_of=as_of)
    past_delay = overdue_only.filter(overdue_since__lt=as_of - timedelta(days=7))
    assert opened == past_delay.count() == 50
    assert not overdue_only.exclude(pk__in=past_delay).filter(collection_cases__isnull=False).exists()


# --- the guideline's emphasis --------------------------------------------------------------------------


def test_the_emphasis_rule_and_its_sql_agree_for_every_combination(branch):
    combinations = list(product(["", "staff"], [c.value for c in FiveLevel], [c.value for c in FourLevel]))
    loans = {}
    for i, (insider, five, four) in enumerate(combinations):
        borrower = BorrowerFactory(insider_kind=insider)
        loans[i] = LoanFactory(branch=branch, borrower=borrower, five_level_class=five, four_level_class=four)
    got = dict(
        Loan.objects.filter(pk__in=[loan.pk for loan in loans.values()])
        .annotate(e=emphasis_expression())
        .values_list("pk", "e")
    )
    for i, (insider, five, four) in enumerate(combinations):
        expected = case_emphasis(insider=bool(insider), five_level_class=five, four_level_class=four)
        assert got[loans[i].pk] == expected, (insider, five, four)


@pytest.mark.parametrize("set_based", [True, False])
def test_the_opener_writes_the_emphasis_on_both_paths(set_based, branch, today):
    if set_based and connection.vendor != "postgresql":
        pytest.skip("the set-based opener is PostgreSQL's")
    overdue = today - timedelta(days=400)
    insider = LoanFactory(
        branch=branch,
        borrower=BorrowerFactory(insider_kind="shareholder"),
        five_level_class="substandard",
        overdue_since=overdue,
    )
    loss = LoanFactory(branch=branch, five_level_class="loss", overdue_since=overdue)
    substandard = LoanFactory(branch=branch, five_level_class="substandard", overdue_since=overdue)
    opening._open_cases(as_of=today, actor=None, loan_ids=None, set_based=set_based)
    emphasis = dict(CollectionCase.objects.values_list("loan_id", "emphasis"))
    assert emphasis == {insider.pk: EMPHASIS_INSIDER, loss.pk: EMPHASIS_STRESSED, substandard.pk: EMPHASIS_OTHER}


def test_a_reclassification_to_doubtful_moves_the_case_up(branch, officer, today, django_capture_on_commit_callbacks):
    capture = django_capture_on_commit_callbacks
    loan = LoanFactory(branch=branch, overdue_since=today - timedelta(days=100))
    _reclassify(capture, as_of=today, loan_ids=[loan.pk])
    case = CollectionCase.objects.get(loan=loan)
    assert case.emphasis == EMPHASIS_OTHER
    Loan.objects.filter(pk=loan.pk).update(overdue_since=today - timedelta(days=300))
    _reclassify(capture, as_of=today, loan_ids=[loan.pk])
    case.refresh_from_db()
    assert case.emphasis == EMPHASIS_STRESSED


def test_an_insider_flag_puts_the_borrowers_cases_first_and_is_audited(branch, officer, admin_user, today):
    from audit.models import AuditEvent

    borrower = BorrowerFactory()
    loan = LoanFactory(
        branch=branch, borrower=borrower, five_level_class="substandard", overdue_since=today - timedelta(days=100)
    )
    case = case_open(loan=loan, actor=officer, as_of=today, reason="Stopped paying")
    assert case.emphasis == EMPHASIS_OTHER
    borrower_update(
        borrower=borrower,
        actor=admin_user,
        reason="Brother of a teller",
        insider_kind="staff_relative",
        insider_note="Brother of teller Li",
    )
    case.refresh_from_db()
    assert case.emphasis == EMPHASIS_INSIDER
    event = AuditEvent.objects.filter(event_type="borrower.updated", subject_id=borrower.pk).latest("pk")
    assert event.new_values["insider_kind"] == "staff_relative"
    borrower_update(borrower=borrower, actor=admin_user, reason="Mistake", insider_kind="")
    case.refresh_from_db()
    assert case.emphasis == EMPHASIS_OTHER


def test_the_queue_shows_insiders_first_then_idle_doubtful_and_loss_then_by_urgency(client, branch, officer, today):
    overdue = today - timedelta(days=120)

    def case_for(name, *, insider="", five="substandard", four="overdue", deadline_days=180):
        loan = LoanFactory(
            branch=branch,
            responsible_officer=officer,
            borrower=BorrowerFactory(name=name, insider_kind=insider),
            five_level_class=five,
            four_level_class=four,
            overdue_since=overdue,
            outstanding_principal=Decimal("1000.00"),
        )
        case = case_open(loan=loan, actor=officer, as_of=today, reason="x")
        CollectionCase.objects.filter(pk=case.pk).update(urgency_on=today + timedelta(days=deadline_days))
        return case

    case_for("Soon Other", deadline_days=1)
    case_for("Late Doubtful", five="doubtful", deadline_days=100)
    case_for("Late Insider", insider="staff", deadline_days=150)
    case_for("Soon Idle", four="idle", deadline_days=10)
    client.force_login(officer)
    body = client.get(reverse("collections_app:case_list")).content.decode()
    order = sorted(["Soon Other", "Late Doubtful", "Late Insider", "Soon Idle"], key=body.index)
    assert order == ["Late Insider", "Soon Idle", "Late Doubtful", "Soon Other"]
    assert "Insider first" in body and "Idle, doubtful or loss" in body
    # Sorting by "Next due" still orders by urgency alone.
    body = client.get(reverse("collections_app:case_list") + "?sort=urgency_on").content.decode()
    assert body.index("Soon Other") < body.index("Soon Idle") < body.index("Late Doubtful")


def test_the_policy_default_is_the_issues_caliber():
    policy = collection_policy()
    assert policy.case_classes == {
        "five_level": ("doubtful", "loss", "substandard"),
        "four_level": ("bad_debt", "idle"),
    }
    assert policy.case_four_level_overdue is False
