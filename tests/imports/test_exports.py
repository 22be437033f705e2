"""Managers, admins and auditors export what they may see, as CSV or XLSX, safely."""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal

import pytest
from django.core.management import call_command
from openpyxl import load_workbook

from loans.exporting import neutralise
from loans.models import Loan
from tests.factories import BorrowerFactory, LoanFactory
from tests.imports.conftest import csv_bytes, run_import, three_loans

pytestmark = pytest.mark.django_db


def read_csv(response) -> list[dict[str, str]]:
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(body)))


def test_cells_that_would_run_as_formulas_get_an_apostrophe():
    assert [neutralise(v) for v in ("=1+1", "+cmd", "-2+3", "@SUM(A1)", "\tx", "plain", 5, None)] == [
        "'=1+1", "'+cmd", "'-2+3", "'@SUM(A1)", "'\tx", "plain", 5, None,
    ]  # fmt: skip


@pytest.fixture
def book(bank, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):  # the collection app opens the loss loan's case
        run_import(csv_bytes(three_loans()))
    LoanFactory(loan_no="HILL-1", branch=bank["other_branch"])
    Loan.objects.filter(loan_no="L-0001").update(product='=HYPERLINK("http://evil","x")')
    return bank


def test_a_manager_exports_the_loans_of_their_branches_with_computed_columns(book, manager, client):
    client.force_login(manager)
    rows = read_csv(client.get("/loans/export/loans.csv"))
    assert [r["loan_no"] for r in rows] == ["L-0001", "L-0002", "L-0003"]  # not Hillside's
    loss = rows[1]
    assert loss["outstanding_principal"] == "450000.50" and loss["specific_provision"] == "450000.50"
    assert loss["five_level_class"] == "Loss" and loss["four_level_class"] == "Overdue"
    assert int(loss["days_past_due"]) == (date.today() - date(2025, 1, 20)).days
    assert loss["case_measure"] == "1 Responsibility" and rows[0]["case_measure"] == ""
    assert loss["responsible_officer"] == "Test " + loss["responsible_officer"].split(" ", 1)[1]
    assert rows[0]["product"] == '\'=HYPERLINK("http://evil","x")'


def test_the_list_page_export_keeps_the_filters(book, manager, client):
    client.force_login(manager)
    page = client.get("/loans/?five_level_class=loss").content.decode()
    assert "/loans/export/loans.csv?five_level_class=loss" in page
    rows = read_csv(client.get("/loans/export/loans.csv?five_level_class=loss"))
    assert [r["loan_no"] for r in rows] == ["L-0002"]


def test_officers_see_no_export_button_and_may_not_export(book, officer, client):
    client.force_login(officer)
    assert "Export CSV" not in client.get("/loans/").content.decode()
    assert client.get("/loans/export/loans.csv").status_code == 403
    assert client.get("/loans/export/").status_code == 403


def test_the_xlsx_export_has_real_numbers_and_dates_and_no_formulas(book, auditor, client):
    client.force_login(auditor)
    response = client.get("/loans/export/loans.xlsx")
    workbook = load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    sheet = workbook.active
    header = [c.value for c in sheet[1]]
    rows = {r[0]: dict(zip(header, r, strict=True)) for r in sheet.iter_rows(min_row=2, values_only=True)}
    assert set(rows) == {"L-0001", "L-0002", "L-0003", "HILL-1"}  # an auditor sees every branch
    assert rows["L-0002"]["principal"] == 500000 and rows["L-0002"]["overdue_since"].date() == date(2025, 1, 20)
    assert rows["L-0001"]["product"].startswith("'=HYPERLINK")
    assert all(c.data_type != "f" for row in sheet.iter_rows() for c in row)


def test_a_formula_in_a_borrower_name_is_neutralised_in_both_formats(bank, admin_user, client):
    LoanFactory(loan_no="F-1", branch=bank["branch"], borrower=BorrowerFactory(name="@SUM(1+1)*cmd|' /C calc'!A0"))
    client.force_login(admin_user)
    assert read_csv(client.get("/loans/export/loans.csv"))[0]["borrower_name"].startswith("'@SUM")
    sheet = load_workbook(io.BytesIO(b"".join(client.get("/loans/export/loans.xlsx").streaming_content))).active
    assert sheet["B2"].value.startswith("'@SUM") and sheet["B2"].data_type == "s"


def test_cases_recoveries_and_accountability_exports(book, manager, outside_manager, client):
    from accountability.models import AccountabilityRecord
    from collections_app.models import CollectionCase
    from collections_app.services import recovery_record

    case = CollectionCase.objects.get()
    # Through the service: the recovery posts its ledger entry, which the cases export reads.
    recovery_record(case=case, actor=manager, received_on=case.opened_on, amount=Decimal("1000"), as_of=case.opened_on)
    AccountabilityRecord.objects.create(
        kind="sanction", record_type=AccountabilityRecord.Type.values[0], officer=case.loan.responsible_officer,
        branch=case.branch, loan=case.loan, reason="=missed the time limit", proposed_on=date(2026, 6, 2),
    )  # fmt: skip
    client.force_login(manager)
    cases = read_csv(client.get("/loans/export/cases.csv"))
    assert [(c["loan_no"], c["cash_recovered"], c["value_recovered_in_kind"]) for c in cases] == [
        ("L-0002", "1000.00", "0.00")
    ]
    recoveries = read_csv(client.get("/loans/export/recoveries.csv"))
    assert [(r["loan_no"], r["amount"], r["form"]) for r in recoveries] == [("L-0002", "1000.00", "Cash")]
    records = read_csv(client.get("/loans/export/accountability.csv"))
    assert records[0]["loan_no"] == "L-0002" and records[0]["reason"] == "'=missed the time limit"
    page = client.get("/loans/export/").content.decode()
    assert all(f"/loans/export/{name}.xlsx" in page for name in ("loans", "cases", "recoveries", "accountability"))

    client.force_login(outside_manager)  # Hillside's manager: none of Riverside's records
    assert read_csv(client.get("/loans/export/cases.csv")) == []
    assert read_csv(client.get("/loans/export/recoveries.csv")) == []
    assert read_csv(client.get("/loans/export/accountability.csv")) == []


def test_the_export_command_writes_csv_and_xlsx_scoped_by_user(book, manager, tmp_path, capsys):
    call_command("export_loans", str(tmp_path / "all.csv"))
    assert "exported 4 loans" in capsys.readouterr().out
    call_command("export_loans", str(tmp_path / "mine.xlsx"), "--user", "manager")
    sheet = load_workbook(tmp_path / "mine.xlsx").active
    assert sorted(r[0] for r in sheet.iter_rows(min_row=2, values_only=True)) == ["L-0001", "L-0002", "L-0003"]
    call_command("export_loans", str(tmp_path / "cases.csv"), "--what", "cases")
    assert "exported 1 cases" in capsys.readouterr().out


def test_the_admin_exports_its_filtered_list(book, admin_user, client):
    client.force_login(admin_user)
    response = client.post("/admin/loans/loan/export/?five_level_class__exact=loss", {"format": "0", "resource": "0"})
    assert [r["loan_no"] for r in read_csv(response)] == ["L-0002"]


@pytest.fixture
def records_in_two_branches(book, officer, outsider):
    """A case with a recovery and a sanction in Riverside, a sanction for Hillside's officer."""
    from accountability.models import AccountabilityRecord
    from collections_app.models import CollectionCase, Recovery

    case = CollectionCase.objects.get()
    Recovery.objects.create(case=case, received_on=date(2026, 6, 1), amount=Decimal("10"), principal=Decimal("10"),
                            interest_on_balance=0, interest_off_balance=0)  # fmt: skip
    sanction = {"kind": "sanction", "record_type": AccountabilityRecord.Type.values[0], "reason": "missed"}
    AccountabilityRecord.objects.create(
        **sanction, officer=officer, branch=case.branch, loan=case.loan, proposed_on=date(2026, 6, 2)
    )
    hill = Loan.objects.get(loan_no="HILL-1")
    AccountabilityRecord.objects.create(
        **sanction, officer=outsider, branch=hill.branch, loan=hill, proposed_on=date(2026, 6, 3)
    )
    return book


@pytest.mark.parametrize(
    ("what", "user", "expected"),
    [
        ("loans", None, ["HILL-1", "L-0001", "L-0002", "L-0003"]),
        ("loans", "manager", ["L-0001", "L-0002", "L-0003"]),
        ("cases", None, ["L-0002"]),
        ("cases", "outsider", []),
        ("recoveries", None, ["L-0002"]),
        ("recoveries", "outsider", []),
        ("accountability", None, ["HILL-1", "L-0002"]),
        ("accountability", "manager", ["L-0002"]),
        ("accountability", "officer", ["L-0002"]),
        ("accountability", "outsider", ["HILL-1"]),
    ],
)
def test_the_export_command_exports_everything_without_a_user_and_the_users_scope_with_one(
    records_in_two_branches, manager, what, user, expected, tmp_path, capsys
):
    path = tmp_path / f"{what}.csv"
    call_command("export_loans", str(path), "--what", what, *(["--user", user] if user else []))
    with open(path, encoding="utf-8-sig", newline="") as handle:
        assert sorted(row["loan_no"] for row in csv.DictReader(handle)) == expected
    assert f"exported {len(expected)} " in capsys.readouterr().out


def test_the_loans_export_has_a_chinese_header_row_option(tmp_path, client, django_user_model):
    """`?header=zh`: the codes row, then the Chinese names (the importer skips that row); the
    command's --language zh-hans does the same, --language en (its default) gives the codes only."""
    import csv as _csv

    from django.core.management import call_command

    from loans.exporting import chinese_header
    from loans.importing.columns import LOAN_COLUMNS

    call_command("export_loans", str(tmp_path / "zh.csv"), "--language", "zh-hans")
    call_command("export_loans", str(tmp_path / "en.csv"))
    zh = list(_csv.reader((tmp_path / "zh.csv").open(encoding="utf-8-sig")))
    en = list(_csv.reader((tmp_path / "en.csv").open(encoding="utf-8-sig")))
    assert zh[0] == en[0] and zh[0][0] == "loan_no"
    assert zh[1][: len(LOAN_COLUMNS)] == [c.chinese for c in LOAN_COLUMNS]
    assert zh[1][zh[0].index("days_past_due")] == "逾期天数"
    assert chinese_header("case_id") == "案件编号"
    assert len(en) == len(zh) - 1
