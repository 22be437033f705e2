"""Finding 10: an export imported again gives back the same text, without the apostrophe that the
exporter put in front of text a spreadsheet would run as a formula."""

from __future__ import annotations

import csv
import io

import pytest
from hypothesis import given
from hypothesis import strategies as st

from loans.importing.values import neutralise, parse_text, unneutralise
from loans.models import Borrower, Loan
from tests.imports.conftest import csv_bytes, loan_row, run_import

FORMULA_TEXT = ["=1+1", "+86 138 0000 0000", "-", "@SUM(A1)", "'=already quoted", "''=twice", "plain", "'plain"]


@pytest.mark.parametrize("text", FORMULA_TEXT)
def test_the_exporters_apostrophe_is_taken_off_on_import_and_nothing_else(text):
    assert parse_text(neutralise(text), max_length=100) == text.strip()


@given(st.text(alphabet=st.sampled_from("'=+-@\tab \r"), max_size=8))
def test_neutralising_then_reading_back_is_the_identity(text):
    assert unneutralise(neutralise(text)) == text


def test_an_apostrophe_that_guards_nothing_is_kept():
    assert parse_text("'plain", max_length=20) == "'plain"
    assert parse_text("'", max_length=20) == "'"


@pytest.mark.django_db
def test_a_loans_export_imported_again_changes_nothing(bank, admin_user, client):
    rows = [
        loan_row(product='=HYPERLINK("http://evil","x")', borrower_name="@Zhang Wei"),
        loan_row(loan_no="L-0002", borrower_id_no="ID-2", borrower_name="-Li Na", product="+ plan B"),
    ]
    assert run_import(csv_bytes(rows)).ok
    before = sorted(Loan.objects.values_list("loan_no", "product", "borrower__name"))
    client.force_login(admin_user)
    body = b"".join(client.get("/loans/export/loans.csv").streaming_content)
    exported = list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))
    assert {r["product"] for r in exported} == {'\'=HYPERLINK("http://evil","x")', "'+ plan B"}

    outcome = run_import(body, name="export.csv")
    assert outcome.ok, outcome.errors
    assert (outcome.created, outcome.updated, outcome.unchanged) == (0, 0, 2)
    assert sorted(Loan.objects.values_list("loan_no", "product", "borrower__name")) == before
    assert set(Borrower.objects.values_list("name", flat=True)) == {"@Zhang Wei", "-Li Na"}

    xlsx = b"".join(client.get("/loans/export/loans.xlsx").streaming_content)
    outcome = run_import(xlsx, name="export.xlsx")
    assert outcome.ok, outcome.errors
    assert (outcome.created, outcome.updated, outcome.unchanged) == (0, 0, 2)
    assert sorted(Loan.objects.values_list("loan_no", "product", "borrower__name")) == before
