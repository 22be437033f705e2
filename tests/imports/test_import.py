"""An admin imports the loan book from CSV or XLSX, then refreshes it every month."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied

from audit.models import AuditEvent
from loans.models import (
    Borrower,
    ClassificationChange,
    Collateral,
    Guarantee,
    Guarantor,
    ImportBatch,
    ImportRow,
    ImportRowRun,
    Loan,
)
from loans.signals import loans_reclassified
from tests.imports.conftest import (
    AS_OF,
    COLLATERAL_HEADER,
    GUARANTEE_HEADER,
    LOAN_HEADER,
    LOAN_HEADER_ZH,
    book_state,
    csv_bytes,
    loan_row,
    row_outcomes,
    run_import,
    three_loans,
    xlsx_bytes,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def announced():
    """The loans announced as having become non-performing (the collection app opens their cases)."""
    seen: list[int] = []

    def receiver(sender, became_non_performing, **kwargs):
        seen.extend(became_non_performing)

    loans_reclassified.connect(receiver, weak=False)
    yield seen
    loans_reclassified.disconnect(receiver)


def test_a_new_book_from_csv_creates_borrowers_and_classified_loans(
    bank, admin_user, announced, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        outcome = run_import(csv_bytes(three_loans(), chinese=True), actor=admin_user)
    assert outcome.ok and outcome.summary == "created 3, updated 0, unchanged 0"
    assert Borrower.objects.count() == 3

    normal, loss, special = (Loan.objects.get(loan_no=n) for n in ("L-0001", "L-0002", "L-0003"))
    assert normal.principal == Decimal("100000.00") and normal.outstanding_principal == Decimal("80000.00")
    assert normal.disbursed_on == date(2024, 1, 15) and normal.overdue_since is None
    assert normal.responsible_officer.username == normal.issuing_officer.username == "officer"
    assert (normal.five_level_class, normal.four_level_class, normal.specific_provision) == ("normal", "normal", 0)

    assert loss.outstanding_principal == Decimal("450000.50") and loss.overdue_since == date(2025, 1, 20)
    assert (loss.five_level_class, loss.four_level_class) == ("loss", "overdue")
    assert loss.five_level_rule == "dpd_loss" and loss.specific_provision == Decimal("450000.50")

    assert special.borrower.kind == "enterprise" and special.branch.code == "O11" and special.government_directed
    assert special.overdue_since == date(2026, 6, 1)
    assert (special.five_level_class, special.specific_provision) == ("special_mention", Decimal("1600.00"))

    # The first class of a new loan is history too, and a new non-performing loan is announced.
    assert set(ClassificationChange.objects.filter(loan=loss).values_list("scheme", "from_class", "to_class")) == {
        ("five_level", "", "loss"),
        ("four_level", "", "overdue"),
    }
    assert not ClassificationChange.objects.filter(loan=normal).exists()
    assert announced == [loss.pk]


def test_every_import_is_a_batch_with_who_when_file_counts_and_row_outcomes(bank, admin_user):
    outcome = run_import(csv_bytes(three_loans()), actor=admin_user, name="june.csv")
    batch = ImportBatch.objects.get()
    assert batch == outcome.batch
    assert (batch.created_by, batch.file_name, batch.status, batch.dry_run) == (
        admin_user,
        "june.csv",
        "imported",
        False,
    )
    assert batch.started_at and batch.finished_at and batch.as_of == AS_OF
    assert (batch.created, batch.updated, batch.unchanged, batch.rows_read, batch.rows_written) == (3, 0, 0, 3, 3)
    assert batch.counts["borrowers"] == {"created": 3, "updated": 0, "unchanged": 0}
    assert list(ImportRow.objects.filter(batch=batch).values_list("row_no", "key", "outcome")) == [
        (2, "L-0001", "created"),
        (3, "L-0002", "created"),
        (4, "L-0003", "created"),
    ]
    audit = AuditEvent.objects.get(event_type="loans.imported")
    assert (audit.actor, audit.subject_id, audit.new_values["created"]) == (admin_user, batch.pk, 3)


def test_headers_match_ignoring_case_spaces_and_in_chinese(bank):
    header = ["Loan No", "BORROWER NAME", "borrower id_no", "借款人类型", "机构代码", "责任人", "Product",
              "贷款本金", "Outstanding Principal", "表内应收利息", "interest off balance", "发放日期", "到期日期",
              "逾期起始日"]  # fmt: skip
    row = ["X-1", "Wang", "ID-9", "个人", "B01", "officer", "", "1,000", "900", "0", "0", "2024/2/3", "20250203", ""]
    outcome = run_import(csv_bytes([row], header))
    assert outcome.ok, outcome.errors
    loan = Loan.objects.get(loan_no="X-1")
    assert (loan.principal, loan.disbursed_on, loan.maturity_on) == (
        Decimal("1000"),
        date(2024, 2, 3),
        date(2025, 2, 3),
    )


def test_utf8_with_bom_gbk_and_semicolons_are_read(bank):
    text = (
        ",".join(LOAN_HEADER_ZH)
        + "\n"
        + ",".join(str(v) for v in loan_row(borrower_name="王伟", principal="100000").values())
        + "\n"
    )
    assert run_import(text.encode("gb18030")).ok
    assert Borrower.objects.get().name == "王伟"
    text2 = (
        ";".join(LOAN_HEADER) + "\n" + ";".join(str(v) for v in loan_row(loan_no="L-2", principal="100000").values())
    )
    assert run_import(("\ufeff" + text2).encode("utf-8")).ok


def test_empty_rows_at_the_end_and_in_between_are_ignored(bank):
    content = csv_bytes([loan_row(), [""] * 16, loan_row(loan_no="L-0002"), [], [""] * 16, ["  "] * 3])
    outcome = run_import(content)
    assert outcome.summary == "created 2, updated 0, unchanged 0"
    assert list(ImportRow.objects.values_list("row_no", flat=True)) == [2, 4]


def test_an_xlsx_book_with_real_dates_numbers_guarantees_and_collateral(bank):
    loans = [
        LOAN_HEADER,
        LOAN_HEADER_ZH,
        ["L-1", "Zhang Wei", "110101199001011234", "individual", "B01", "officer", "Mortgage", 250000.0, 199999.99,
         0, 0, datetime(2023, 3, 15), date(2028, 3, 15), date(2026, 1, 10), False, True],
        ["L-2", "Chen Jing", "310101198001012222", "自然人", "B01", None, None, 1000, 1000, None, None,
         "2024-05-01", 20250501, None, "是", None],
        [None] * 16,
    ]  # fmt: skip
    guarantees = [GUARANTEE_HEADER, ["L-1", "Li Na", "G-1", "企业", 50000, date(2023, 3, 15)]]
    collateral = [COLLATERAL_HEADER, ["L-1", "房产", "Flat 3-201", "300,000", date(2023, 3, 1), "查封"]]
    content = xlsx_bytes({"Loans": loans, "担保": guarantees, "Collateral": collateral, "Notes": [["ignored"]]})
    outcome = run_import(content, name="book.xlsx")
    assert outcome.ok, outcome.errors
    one = Loan.objects.get(loan_no="L-1")
    assert (one.principal, one.outstanding_principal) == (Decimal("250000.00"), Decimal("199999.99"))
    assert (one.disbursed_on, one.overdue_since, one.government_directed) == (
        date(2023, 3, 15),
        date(2026, 1, 10),
        True,
    )
    assert one.five_level_class == "substandard"  # 171 days past due
    two = Loan.objects.get(loan_no="L-2")
    assert (two.maturity_on, two.business_ceased, two.responsible_officer) == (date(2025, 5, 1), True, None)
    assert two.four_level_class == "idle"
    guarantee = Guarantee.objects.get()
    assert (guarantee.loan, guarantee.amount, guarantee.guarantor.kind) == (one, Decimal("50000"), "enterprise")
    lien = Collateral.objects.get()
    assert (lien.kind, lien.appraised_value, lien.lien_status) == ("real_estate", Decimal("300000"), "sealed")
    assert outcome.batch.counts["guarantees"]["created"] == 1 and outcome.batch.counts["collateral"]["created"] == 1


def test_guarantees_and_collateral_as_separate_csv_files(bank):
    guarantees = csv_bytes([["L-0001", "Li Na", "G-1", "", "20,000", "2024-01-15"]], GUARANTEE_HEADER)
    collateral = csv_bytes([["L-0002", "vehicle", "Truck", "30000", "", ""]], COLLATERAL_HEADER)
    outcome = run_import(csv_bytes(three_loans()), guarantees=guarantees, collateral=collateral)
    assert outcome.ok, outcome.errors
    assert Guarantee.objects.get().guarantor.name == "Li Na"
    # the file has no liability column: the guarantee is joint liability (issue 12, DOMAIN.md)
    assert Guarantee.objects.get().liability == Guarantee.Liability.JOINT
    assert Collateral.objects.get().loan.loan_no == "L-0002"


def test_a_guarantor_who_is_also_a_borrower_is_linked(bank):
    guarantees = csv_bytes([["L-0001", "Li Na", "220101198505052345", "", "1000", ""]], GUARANTEE_HEADER)
    run_import(csv_bytes(three_loans()), guarantees=guarantees)
    assert Guarantor.objects.get().borrower == Borrower.objects.get(id_no="220101198505052345")


def test_reimporting_the_same_file_changes_nothing(bank):
    content = csv_bytes(three_loans())
    run_import(content)
    before = book_state()
    outcome = run_import(content)
    assert outcome.summary == "created 0, updated 0, unchanged 3"
    after = book_state()
    assert after["loans"] == before["loans"] and after["history"] == before["history"]
    assert {o for _, _, o in row_outcomes(outcome.batch)} == {"unchanged"}
    # The three rows are one run, not a record each.
    assert not ImportRow.objects.filter(batch=outcome.batch).exists()
    assert list(ImportRowRun.objects.filter(batch=outcome.batch).values_list("first_row_no", "last_row_no")) == [(2, 4)]


def test_the_monthly_refresh_updates_and_reclassifies_what_changed(bank, admin_user):
    run_import(csv_bytes(three_loans()))
    untouched = Loan.objects.get(loan_no="L-0003")
    refreshed = three_loans()
    refreshed[0]["overdue_since"] = "2026-02-01"  # now 149 days past due: substandard
    refreshed[1]["overdue_since"] = ""  # arrears cleared: stays loss until the wait is over
    refreshed[1]["outstanding_principal"] = "400000"
    outcome = run_import(csv_bytes(refreshed), actor=admin_user)
    assert outcome.summary == "created 0, updated 2, unchanged 1"
    first, second = Loan.objects.get(loan_no="L-0001"), Loan.objects.get(loan_no="L-0002")
    assert (first.five_level_class, first.specific_provision) == ("substandard", Decimal("20000.00"))
    assert ClassificationChange.objects.filter(loan=first, from_class="normal", to_class="substandard").exists()
    assert second.arrears_cleared_on == AS_OF and second.five_level_class == "loss"
    assert second.five_level_rule == "upgrade_held" and second.specific_provision == Decimal("400000.00")
    assert Loan.objects.get(loan_no="L-0003").updated_at == untouched.updated_at
    assert [(key, o) for _, key, o in row_outcomes(outcome.batch)] == [
        ("L-0001", "updated"),
        ("L-0002", "updated"),
        ("L-0003", "unchanged"),
    ]


def test_a_borrower_is_found_by_id_number_and_renamed(bank):
    run_import(csv_bytes(three_loans()))
    renamed = three_loans()
    renamed[0]["borrower_name"] = "Zhang Wei (Mr)"
    outcome = run_import(csv_bytes(renamed))
    assert outcome.summary == "created 0, updated 0, unchanged 3"  # the loan itself did not change
    assert outcome.batch.counts["borrowers"] == {"created": 0, "updated": 1, "unchanged": 2}
    assert Borrower.objects.get(id_no="110101199001011234").name == "Zhang Wei (Mr)"
    assert Borrower.objects.count() == 3


def test_a_column_left_out_of_the_file_is_left_alone(bank):
    run_import(csv_bytes(three_loans()))
    header = [h for h in LOAN_HEADER if h not in ("overdue_since", "officer_username", "product")]
    refreshed = three_loans()
    refreshed[2]["outstanding_principal"] = "70000"
    outcome = run_import(csv_bytes(refreshed, header))
    assert outcome.summary == "created 0, updated 1, unchanged 2"
    loan = Loan.objects.get(loan_no="L-0003")
    assert loan.overdue_since == date(2026, 6, 1) and loan.responsible_officer.username == "outlet_officer"
    assert loan.outstanding_principal == Decimal("70000")


def test_guarantees_and_collateral_are_updated_not_duplicated(bank):
    guarantees = [["L-0001", "Li Na", "G-1", "", "20000", ""]]
    collateral = [["L-0001", "vehicle", "Truck", "30000", "", ""]]
    run_import(csv_bytes(three_loans()), guarantees=csv_bytes(guarantees, GUARANTEE_HEADER),
               collateral=csv_bytes(collateral, COLLATERAL_HEADER))  # fmt: skip
    guarantees[0][4], collateral[0][3] = "25000", "28000"
    outcome = run_import(csv_bytes(three_loans()), guarantees=csv_bytes(guarantees, GUARANTEE_HEADER),
                         collateral=csv_bytes(collateral, COLLATERAL_HEADER))  # fmt: skip
    assert outcome.batch.counts["guarantees"] == {"created": 0, "updated": 1, "unchanged": 0}
    assert outcome.batch.counts["collateral"] == {"created": 0, "updated": 1, "unchanged": 0}
    assert Guarantee.objects.get().amount == Decimal("25000") and Collateral.objects.get().appraised_value == 28000


def test_a_dry_run_counts_what_would_change_and_writes_nothing(bank):
    run_import(csv_bytes(three_loans()[:2]))
    before = book_state()
    changed = three_loans()
    changed[0]["outstanding_principal"] = "1"
    outcome = run_import(csv_bytes(changed), dry_run=True)
    assert outcome.ok and outcome.batch.status == "checked"
    assert outcome.summary == "created 1, updated 1, unchanged 1"
    assert book_state() == before
    assert [(key, o) for _, key, o in row_outcomes(outcome.batch)] == [
        ("L-0001", "updated"),
        ("L-0002", "unchanged"),
        ("L-0003", "created"),
    ]


def test_only_an_administrator_may_import(bank, officer):
    with pytest.raises(PermissionDenied):
        run_import(csv_bytes(three_loans()), actor=officer)
    assert not Loan.objects.exists()


def test_an_export_can_be_imported_again_unchanged(bank, admin_user, tmp_path):
    from django.core.management import call_command

    run_import(csv_bytes(three_loans()))
    path = tmp_path / "loans.csv"
    call_command("export_loans", str(path), "--as-of", AS_OF.isoformat())
    outcome = run_import(path.read_bytes(), name="loans.csv")
    assert outcome.ok, outcome.errors
    assert outcome.summary == "created 0, updated 0, unchanged 3"
