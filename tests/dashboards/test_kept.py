"""The kept cells stay equal to their definition (dashboards.kept.rebuild) as the source rows change,
through the services, the importer's set-based SQL, the reclassification and plain bulk updates:
the database triggers of migration 0002_i13_kept_triggers (PostgreSQL, as CI runs them). Also the
compaction, two writers on one cell, and the daily check `kept_figures`."""

from __future__ import annotations

import threading
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, connections, transaction
from django.db.models import Count, Sum
from django.utils import timezone
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from accountability.daily_checks import check_run
from collections_app import services as cases
from collections_app.models import CaseCost, CollectionCase, CostRepayment
from collections_app.services.costs import costs_repay_first
from dashboards.kept import rebuild
from dashboards.maintain import MODELS, compact, differences
from dashboards.models import BookCell, CaseCell, CostCell, LedgerCell
from ledger.models import LedgerEntry
from ledger.services import ledger_entry_decide
from loans.models import Borrower, Loan, Role
from loans.services import borrower_update, loan_update, loans_reclassify
from notifications.models import Notification
from tests.accountability.conftest import OPENED, divide, open_npl_case
from tests.cases.helpers import write_off
from tests.factories import BorrowerFactory, LoanFactory, UserFactory
from tests.imports.conftest import csv_bytes, loan_row, run_import

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("require_postgres")]

TODAY = OPENED + timedelta(days=40)


@pytest.fixture(autouse=True)
def _fast_passwords(settings) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def cell_rows() -> int:
    return sum(model.objects.count() for model in MODELS)


def assert_kept_is_rebuild() -> None:
    """Per table, the kept sums (per cell) equal the definition's, and there is something to compare."""
    result = differences()
    assert [d.as_json() for d in result.differences] == []
    if Loan.objects.exists():
        assert result.cells["bookcell"] > 0 and result.cells["ledgercell"] > 0


def table_sums(model) -> dict:
    from dashboards.triggers import ALL_TABLES

    return model.objects.aggregate(**{m: Sum(m) for m in ALL_TABLES[model._meta.db_table].measures})


def kept_total(model, field: str, **filters) -> Decimal | int:
    return model.objects.filter(**filters).aggregate(s=Sum(field))["s"] or 0


# --- loans -------------------------------------------------------------------------------------------------


def test_a_new_loan_and_its_correction_through_the_service(branch, officer, admin_user):
    loan = LoanFactory(branch=branch, responsible_officer=officer, product="Mortgage")
    assert kept_total(BookCell, "loans", branch=branch, officer=officer, product="Mortgage") == 1
    assert kept_total(BookCell, "outstanding_principal", branch=branch) == Decimal("80000.00")
    assert kept_total(LedgerCell, "principal", branch=branch, kind="opening_balance") == Decimal("80000.00")
    assert_kept_is_rebuild()
    loan_update(
        loan=loan,
        actor=admin_user,
        as_of=TODAY,
        reason="Book correction",
        product="Consumer loan",
        outstanding_principal=Decimal("70000.00"),
    )
    assert kept_total(BookCell, "loans", product="Mortgage") == 0
    assert kept_total(BookCell, "outstanding_principal", product="Consumer loan") == Decimal("70000.00")
    # The opening balance moved with the loan's product; the correction is under the new one.
    assert kept_total(LedgerCell, "principal", product="Consumer loan") == Decimal("70000.00")
    assert kept_total(LedgerCell, "entries", product="Mortgage") == 0
    assert_kept_is_rebuild()


def test_an_update_touching_nothing_a_figure_reads_adds_no_row(branch, officer, manager):
    case = open_npl_case(branch=branch, officer=officer)
    cases.cost_record(case=case, actor=officer, kind="litigation", amount=Decimal("300"), incurred_on=TODAY)
    before = cell_rows()
    now = timezone.now()
    assert Loan.objects.update(updated_at=now, overdue_since=case.loan.overdue_since) > 0
    CollectionCase.objects.update(updated_at=now, urgency_on=TODAY)
    Borrower.objects.update(phone="555-0100", name="Renamed")
    CaseCost.objects.update(note="filed")
    LedgerEntry.objects.filter(loan=case.loan).update(approval_reason="")
    assert cell_rows() == before
    assert_kept_is_rebuild()


def test_an_import_creates_and_moves_loans_and_its_entries(branch, outlet, other_branch, officer, outlet_officer):
    other_officer = UserFactory(username="hill_officer", role=Role.OFFICER, branch=other_branch)
    first = [
        loan_row(),
        loan_row(loan_no="L-0002", borrower_name="Li Na", borrower_id_no="220101198505052345",
                 principal="500000", outstanding_principal="450,000.50", overdue_since="2025/01/20"),
        loan_row(loan_no="L-0003", borrower_name="Riverside Textiles", borrower_id_no="91110000MA01",
                 borrower_kind="enterprise", branch_code="O11", officer_username="outlet_officer"),
    ]  # fmt: skip
    outcome = run_import(csv_bytes(first))
    assert outcome.batch.status == "imported", outcome.batch.errors
    assert kept_total(BookCell, "loans") == 3
    assert kept_total(LedgerCell, "entries", kind="opening_balance") == 3
    assert_kept_is_rebuild()
    # The next day's book: L-0001 moved to Hillside and its officer, its balance fell (a fall
    # reported by the book), the borrower of L-0003 is now an individual; L-0004 is new.
    second = [
        {**first[0], "branch_code": "B02", "officer_username": "hill_officer", "outstanding_principal": "75000"},
        first[1],
        {**first[2], "borrower_kind": "individual", "interest_on_balance": "1500"},
        loan_row(loan_no="L-0004", borrower_name="Wu Fang", borrower_id_no="330101197001011111"),
    ]
    outcome = run_import(csv_bytes(second), as_of=date(2026, 7, 1))
    assert outcome.batch.status == "imported", outcome.batch.errors
    assert kept_total(BookCell, "loans", branch=other_branch, officer=other_officer) == 1
    assert kept_total(LedgerCell, "principal", branch=other_branch) == Decimal("75000.00")
    assert kept_total(BookCell, "loans", borrower_kind="enterprise") == 0
    assert kept_total(LedgerCell, "entries", borrower_kind="enterprise") == 0
    assert_kept_is_rebuild()


def test_reclassification_and_case_opening(branch, officer):
    loans = [
        LoanFactory(branch=branch, responsible_officer=officer, overdue_since=OPENED - timedelta(days=d))
        for d in (10, 100, 200, 400)
    ]
    assert kept_total(BookCell, "loans", five_level_class="normal") == 4
    loans_reclassify(as_of=OPENED)
    classes = dict(
        BookCell.objects.values("five_level_class").annotate(n=Sum("loans")).values_list("five_level_class", "n")
    )
    assert sum(classes.values()) == 4 and classes.get("normal", 0) < 4
    cases.cases_open_for_non_performing(as_of=OPENED, loan_ids=[loan.pk for loan in loans])
    assert kept_total(CaseCell, "cases", is_open=True) == CollectionCase.objects.count() > 0
    assert_kept_is_rebuild()


# --- money --------------------------------------------------------------------------------------------------


def test_recoveries_backdated_awaiting_then_approved_or_refused(branch, officer, manager):
    case = open_npl_case(branch=branch, officer=officer)
    cases.recovery_record(case=case, actor=officer, received_on=TODAY, amount=Decimal("1000"), as_of=TODAY)
    month = TODAY.replace(day=1)
    assert kept_total(LedgerCell, "amount", counts_as_recovery=True, month=month, counting=True) == Decimal("1000")
    assert_kept_is_rebuild()
    # Two recoveries dated 30 days back: they await a manager and count nowhere until decided.
    back = TODAY - timedelta(days=30)
    for amount in ("200", "300"):
        cases.recovery_record(case=case, actor=officer, received_on=back, amount=Decimal(amount), as_of=TODAY)
    awaiting = list(LedgerEntry.objects.filter(approval="awaiting").order_by("amount"))
    assert len(awaiting) == 2
    assert kept_total(LedgerCell, "amount", counting=False) == Decimal("500")
    assert_kept_is_rebuild()
    ledger_entry_decide(entry=awaiting[0], actor=manager, approve=True, as_of=TODAY)
    assert kept_total(LedgerCell, "amount", counting=True, month=back.replace(day=1)) == Decimal("200")
    assert_kept_is_rebuild()
    # Refused: counts in the month it was recorded.
    ledger_entry_decide(entry=awaiting[1], actor=manager, approve=False, as_of=TODAY, reason="No receipt")
    assert kept_total(LedgerCell, "amount", counting=False) == 0
    assert kept_total(LedgerCell, "amount", counts_as_recovery=True, month=month) == Decimal("1300")
    assert_kept_is_rebuild()


def test_write_off_then_recovered_after_it(branch, officer, manager):
    case = open_npl_case(branch=branch, officer=officer, dpd=400)
    cases.recovery_record(case=case, actor=officer, received_on=TODAY - timedelta(days=2), amount=Decimal("100"))
    write_off(case, requester=officer, approver=manager, today=TODAY)
    loan = Loan.objects.get(pk=case.loan_id)
    assert loan.written_off_on is not None
    assert kept_total(BookCell, "written_off_loans") == 1
    assert kept_total(LedgerCell, "entries", kind="write_off") == 1
    assert_kept_is_rebuild()
    # The write-off date moves back: the earlier recovery now counts as recovered after write-off.
    Loan.objects.filter(pk=loan.pk).update(written_off_on=TODAY - timedelta(days=5))
    assert kept_total(LedgerCell, "amount", after_write_off=True, counts_as_recovery=True) == Decimal("100")
    assert_kept_is_rebuild()


def test_costs_and_their_repayments(branch, officer):
    case = open_npl_case(branch=branch, officer=officer)
    cases.cost_record(case=case, actor=officer, kind="litigation", amount=Decimal("800"), incurred_on=TODAY)
    cases.cost_record(
        case=case, actor=officer, kind="lawyer", amount=Decimal("50"), incurred_on=TODAY, borne_by="third_party"
    )
    assert kept_total(CostCell, "amount", kind="borne") == Decimal("800")
    left = costs_repay_first(case=case, actor=officer, amount=Decimal("300"), received_on=TODAY)
    assert left == 0
    assert kept_total(CostCell, "amount", kind="repaid") == Decimal("300")
    assert_kept_is_rebuild()
    # Bulk corrections of the cost rows themselves.
    CaseCost.objects.filter(kind="litigation").update(incurred_on=TODAY - timedelta(days=40), amount=Decimal("900"))
    CostRepayment.objects.update(repaid_on=TODAY - timedelta(days=35))
    CaseCost.objects.filter(kind="lawyer").update(borne_by="bank")
    assert kept_total(CostCell, "amount", kind="borne") == Decimal("950")
    assert_kept_is_rebuild()


def test_case_moves_and_its_end(branch, officer, manager):
    case = open_npl_case(branch=branch, officer=officer)
    Borrower.objects.filter(pk=case.loan.borrower_id).update(kind=Borrower.Kind.ENTERPRISE)
    cases.case_move(case=case, target="collaborative", actor=officer, as_of=TODAY, reason="Talks")
    assert kept_total(CaseCell, "cases", measure="collaborative", borrower_kind="enterprise") == 1
    assert_kept_is_rebuild()
    loan = Loan.objects.get(pk=case.loan_id)
    cases.recovery_record(
        case=CollectionCase.objects.get(pk=case.pk),
        actor=officer,
        received_on=TODAY,
        amount=loan.outstanding_principal + loan.interest_on_balance + loan.interest_off_balance,
        as_of=TODAY,
    )
    case.refresh_from_db()
    assert not case.is_open
    assert kept_total(CaseCell, "cases", is_open=False) == 1
    assert kept_total(CaseCell, "cases", is_open=True) == 0
    assert kept_total(BookCell, "outstanding_principal") == 0
    assert_kept_is_rebuild()


# --- figures follow the loan --------------------------------------------------------------------------------


def test_a_loan_moved_to_another_officer_and_branch_takes_its_figures(branch, other_branch, officer, manager):
    case = open_npl_case(branch=branch, officer=officer)
    cases.recovery_record(case=case, actor=officer, received_on=TODAY, amount=Decimal("400"), as_of=TODAY)
    cases.cost_record(case=case, actor=officer, kind="litigation", amount=Decimal("70"), incurred_on=TODAY)
    colleague = UserFactory(username="colleague", role=Role.OFFICER, branch=branch)
    divide(case, manager, [(colleague, Decimal("100"))], deadline=TODAY + timedelta(days=90), as_of=TODAY)
    assert Loan.objects.get(pk=case.loan_id).responsible_officer == colleague
    for model, field in ((BookCell, "loans"), (LedgerCell, "entries"), (CaseCell, "cases")):
        assert kept_total(model, field, officer=officer) == 0, model
        assert kept_total(model, field, officer=colleague) > 0, model
    assert kept_total(CostCell, "amount", officer=colleague) == Decimal("70")
    assert_kept_is_rebuild()
    # A set-based move of the branch (as the importer does).
    Loan.objects.filter(pk=case.loan_id).update(branch=other_branch)
    assert kept_total(LedgerCell, "amount", branch=other_branch, counts_as_recovery=True) == Decimal("400")
    assert kept_total(CostCell, "amount", branch=branch) == 0
    assert kept_total(CaseCell, "cases", branch=other_branch) == 1
    assert_kept_is_rebuild()


def test_the_borrower_kind_changed(branch, officer, admin_user):
    case = open_npl_case(branch=branch, officer=officer)
    cases.cost_record(case=case, actor=officer, kind="litigation", amount=Decimal("70"), incurred_on=TODAY)
    borrower = case.loan.borrower
    LoanFactory(branch=branch, borrower=borrower)
    assert borrower.kind == "individual"
    borrower_update(borrower=borrower, actor=admin_user, reason="Registered a company", kind="enterprise")
    for model, field in ((BookCell, "loans"), (LedgerCell, "entries"), (CaseCell, "cases"), (CostCell, "amount")):
        assert kept_total(model, field, borrower_kind="individual") == 0, model
        assert kept_total(model, field, borrower_kind="enterprise") > 0, model
    assert kept_total(BookCell, "loans", borrower_kind="enterprise") == 2
    assert_kept_is_rebuild()


# --- compaction ---------------------------------------------------------------------------------------------


def test_compaction_keeps_the_sums_and_leaves_one_row_per_cell(branch, officer, manager):
    case = open_npl_case(branch=branch, officer=officer)
    for n in range(3):
        cases.recovery_record(case=case, actor=officer, received_on=TODAY, amount=Decimal(10 + n), as_of=TODAY)
    cases.cost_record(case=case, actor=officer, kind="litigation", amount=Decimal("80"), incurred_on=TODAY)
    LoanFactory(branch=branch, responsible_officer=officer)
    Loan.objects.update(product="Renamed")  # every cell under the old product goes to zero
    before = {model: model.objects.count() for model in MODELS}
    sums = {model: table_sums(model) for model in MODELS}
    assert_kept_is_rebuild()
    done = compact()
    assert set(done) == {"bookcell", "ledgercell", "casecell", "costcell", "limitationcell",
                         "bookroll", "ledgerroll", "caseroll", "costroll", "limitationroll",
                         "ledgerofficerroll", "costofficerroll"}  # fmt: skip
    assert done["ledgercell"]["moved"] > done["ledgercell"]["folded"]
    for model in MODELS:
        assert table_sums(model) == sums[model], model
        assert not model.objects.values(*_keys(model)).annotate(n=Count("id")).filter(n__gt=1).exists(), model
        assert model.objects.count() <= before[model]
    assert not BookCell.objects.exclude(product="Renamed").exists()  # the all-zero cells are gone
    assert BookCell.objects.count() < before[BookCell]
    assert_kept_is_rebuild()
    assert compact()["bookcell"] == {"moved": 0, "folded": 0}  # nothing left to fold


def _keys(model) -> set[str]:
    from dashboards.triggers import ALL_TABLES

    return set(ALL_TABLES[model._meta.db_table].group)


# --- the daily check ----------------------------------------------------------------------------------------


def test_the_daily_check_finds_a_tampered_cell_repairs_it_and_tells_the_admins(branch, officer, admin_user):
    open_npl_case(branch=branch, officer=officer)
    run = check_run(name="kept_figures", as_of=TODAY)
    assert run.status == "done"
    assert run.counts["differences"] == 0 and run.counts["repaired"] is False
    assert run.counts["cells"]["bookcell"] >= 1
    BookCell.objects.create(branch=branch, officer=officer, product="Ghost", borrower_kind="individual",
                            five_level_class="loss", four_level_class="bad_debt", loans=1,
                            outstanding_principal=Decimal("999"))  # fmt: skip
    LedgerCell.objects.filter(kind="opening_balance").update(amount=Decimal("5"))
    run = check_run(name="kept_figures", as_of=TODAY)
    assert run.counts["differences"] == 3
    # The ghost cell went into its branch roll-up too (the roll-up's trigger); the update did not.
    assert run.counts["per_table"] == {"bookcell": 1, "ledgercell": 1, "casecell": 0, "costcell": 0,
                                       "limitationcell": 0, "bookroll": 1, "ledgerroll": 0, "caseroll": 0,
                                       "costroll": 0, "limitationroll": 0, "ledgerofficerroll": 0,
                                       "costofficerroll": 0}  # fmt: skip
    named = {d["table"]: d for d in run.counts["first"]}
    assert named["bookcell"]["cell"]["product"] == "Ghost"
    assert named["bookcell"]["kept"]["outstanding_principal"] == "999.00"
    assert named["bookcell"]["rebuilt"]["loans"] == 0
    assert run.counts["repaired"] is True
    assert differences().differences == []
    notes = Notification.objects.filter(recipient=admin_user, kind="dashboards.kept_figures")
    assert notes.count() == 1
    # Repaired: the next run finds nothing and tells nobody again.
    run = check_run(name="kept_figures", as_of=TODAY + timedelta(days=1))
    assert run.counts["differences"] == 0
    assert notes.count() == 1


def test_rebuild_after_the_triggers_changes_no_sum(branch, officer):
    open_npl_case(branch=branch, officer=officer)
    totals = {m: m.objects.aggregate(n=Count("id")) for m in MODELS}
    rebuild()
    assert_kept_is_rebuild()
    assert totals


# --- two writers on one cell --------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_two_writers_adding_to_the_same_cell_do_not_wait_for_each_other(require_postgres, head_office):
    from tests.factories import BranchFactory

    branch = BranchFactory(code="CC1", parent=head_office)
    officer = UserFactory(username="cc_officer", role=Role.OFFICER, branch=branch)
    borrowers = [BorrowerFactory(), BorrowerFactory()]
    first_wrote, second_done = threading.Event(), threading.Event()
    errors: list[BaseException] = []
    order: list[str] = []

    def writer(n: int) -> None:
        try:
            if n == 1:
                with transaction.atomic():
                    LoanFactory(loan_no="CC-1", branch=branch, responsible_officer=officer, borrower=borrowers[0])
                    first_wrote.set()
                    # Still open: the second writer adds to the same cells meanwhile.
                    assert second_done.wait(20), "the second writer waited for the first"
                    order.append("first commits")
            else:
                assert first_wrote.wait(20)
                with connection.cursor() as cursor:
                    cursor.execute("SET lock_timeout = '5s'")
                with transaction.atomic():
                    LoanFactory(loan_no="CC-2", branch=branch, responsible_officer=officer, borrower=borrowers[1])
                    compact()  # a compaction meanwhile does not wait either
                order.append("second commits")
                second_done.set()
        except BaseException as exc:  # noqa: BLE001 (reported in the main thread)
            errors.append(exc)
            first_wrote.set()
            second_done.set()
        finally:
            connections.close_all()

    threads = [threading.Thread(target=writer, args=(n,)) for n in (1, 2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    assert order == ["second commits", "first commits"]
    assert kept_total(BookCell, "loans", branch=branch, officer=officer) == 2
    assert kept_total(LedgerCell, "entries", branch=branch, officer=officer) == 2
    assert_kept_is_rebuild()


# --- random sequences of changes ----------------------------------------------------------------------------

CENTS = st.integers(min_value=1, max_value=500_000).map(lambda c: Decimal(c) / 100)
STEP = st.one_of(
    st.tuples(st.just("new_loan"), st.integers(0, 5), st.integers(0, 5)),
    st.tuples(st.just("recovery"), st.integers(0, 5), CENTS),
    st.tuples(st.just("backdated"), st.integers(0, 5), CENTS),
    st.tuples(st.just("decide"), st.integers(0, 5), st.booleans()),
    st.tuples(st.just("move"), st.integers(0, 5), st.integers(0, 5)),
    st.tuples(st.just("product"), st.integers(0, 5), st.sampled_from(["Mortgage", "Working capital"])),
    st.tuples(st.just("all_products"), st.integers(0, 5), st.sampled_from(["Mortgage", "Working capital"])),
    st.tuples(st.just("kind"), st.integers(0, 5), st.sampled_from(["individual", "enterprise"])),
    st.tuples(st.just("written_off"), st.integers(0, 5), st.integers(-3, 3)),
    st.tuples(st.just("measure"), st.integers(0, 5), st.sampled_from(["pressure", "legal", "recovered"])),
    st.tuples(st.just("cost"), st.integers(0, 5), CENTS),
    st.tuples(st.just("repay"), st.integers(0, 5), CENTS),
    st.tuples(st.just("reclassify"), st.integers(0, 5), st.integers(0, 400)),
    st.tuples(st.just("compact"), st.integers(0, 5), st.just(0)),
)


def _step(step, world, day) -> None:
    what, i, x = step
    loans = list(Loan.objects.order_by("pk"))
    loan = loans[i % len(loans)]
    case = CollectionCase.objects.filter(loan=loan).first()
    branches, officers, manager = world["branches"], world["officers"], world["manager"]
    if what == "new_loan":
        LoanFactory(branch=branches[i % 2], responsible_officer=officers[x % 3], product="Mortgage")
    elif what in ("recovery", "backdated") and case is not None and case.is_open:
        on = day if what == "recovery" else day - timedelta(days=20)
        cases.recovery_record(case=case, actor=manager, received_on=on, amount=x, as_of=day)
    elif what == "decide":
        entry = LedgerEntry.objects.filter(approval="awaiting").order_by("pk").first()
        if entry is not None:
            reason = "" if x else "No receipt"
            ledger_entry_decide(entry=entry, actor=world["approver"], approve=x, as_of=day, reason=reason)
    elif what == "move":
        Loan.objects.filter(pk=loan.pk).update(branch=branches[x % 2], responsible_officer=officers[x % 3])
    elif what == "product":
        Loan.objects.filter(pk=loan.pk).update(product=x)
    elif what == "all_products":
        Loan.objects.update(product=x)
    elif what == "kind":
        Borrower.objects.filter(pk=loan.borrower_id).update(kind=x)
    elif what == "written_off":
        Loan.objects.filter(pk=loan.pk).update(written_off_on=None if x == 0 else day + timedelta(days=x * 7))
    elif what == "measure" and case is not None:
        CollectionCase.objects.filter(pk=case.pk).update(measure=x, is_open=x != "recovered")
    elif what == "cost" and case is not None:
        CaseCost.objects.create(case=case, kind="litigation", amount=x, incurred_on=day, borne_by="bank")
    elif what == "repay":
        cost = CaseCost.objects.filter(case__loan=loan).first()
        if cost is not None:
            CostRepayment.objects.create(cost=cost, repaid_on=day, amount=x)
    elif what == "reclassify":
        loans_reclassify(as_of=day + timedelta(days=x))
    elif what == "compact":
        compact()


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(STEP, min_size=1, max_size=10))
@example(
    steps=[
        ("backdated", 0, Decimal("10")),
        ("decide", 0, True),
        ("backdated", 1, Decimal("5")),
        ("decide", 0, False),
        ("move", 0, 1),
        ("kind", 0, "enterprise"),
        ("written_off", 0, -3),
        ("cost", 0, Decimal("7")),
        ("repay", 0, Decimal("3")),
        ("measure", 1, "recovered"),
        ("all_products", 0, "Mortgage"),
        ("reclassify", 0, 200),
        ("compact", 0, 0),
        ("new_loan", 1, 2),
    ]
)
def test_random_sequences_of_changes_keep_the_cells_equal_to_their_definition(
    branch, other_branch, officer, manager, steps
):
    with transaction.atomic():
        officers = [officer, *(UserFactory(role=Role.OFFICER, branch=branch) for _ in range(2))]
        for n in range(3):
            open_npl_case(branch=branch, officer=officers[n], borrower=BorrowerFactory(), dpd=100 + 150 * n)
        world = {
            "branches": [branch, other_branch],
            "officers": officers,
            "manager": manager,
            "approver": UserFactory(role=Role.MANAGER, branch=branch.parent),
        }
        for n, step in enumerate(steps):
            try:
                with transaction.atomic():
                    _step(step, world, TODAY + timedelta(days=n))
            except ValidationError:
                pass  # refused as a whole: nothing written
            assert_kept_is_rebuild()
        transaction.set_rollback(True)
