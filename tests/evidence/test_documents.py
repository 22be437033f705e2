"""Item 7: notices generated from replaceable templates (DOCX and PDF, Chinese), numbered per branch
and year without gaps, logged and audited; serving records the method and the signed receipt."""

from __future__ import annotations

import io
import threading
from datetime import date

import docx
import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditEvent
from collections_app.models import CollectionCase, Notice
from collections_app.services import notice_receipt_attach, notice_serve
from evidence.document_services import document_generate, document_template_replace, next_document_number
from evidence.documents import SAMPLE_CONTEXT, default_template_path, render_docx
from evidence.models import DocumentCounter, DocumentTemplate, GeneratedDocument
from tests.accountability.conftest import open_npl_case
from tests.evidence.conftest import EXE, PDF, upload
from tests.factories import GuaranteeFactory

pytestmark = pytest.mark.django_db

TODAY = date(2026, 3, 2)


def _text(docx_bytes: bytes) -> str:
    return "\n".join(p.text for p in docx.Document(io.BytesIO(docx_bytes)).paragraphs)


def _read(evidence) -> bytes:
    with evidence.file.open("rb") as handle:
        return handle.read()


def test_the_shipped_templates_render_every_kind_in_chinese():
    for kind, title in [
        ("collection_notice", "催收通知书"),
        ("guarantor_demand", "履行保证责任通知书"),
        ("debt_acknowledgement", "债务确认书"),
        ("public_notice", "催收公告"),
    ]:
        text = _text(render_docx(default_template_path(kind).read_bytes(), SAMPLE_CONTEXT))
        assert title in text and SAMPLE_CONTEXT["number"] in text and "{{" not in text


def test_a_collection_notice_is_numbered_kept_as_docx_and_pdf_and_audited(case, officer):
    document = document_generate(case=case, actor=officer, kind="collection_notice", as_of=TODAY)
    assert document.number == f"{case.branch.code}-2026-00001"
    assert document.template_version == 0 and document.addressee == case.loan.borrower.name
    text = _text(_read(document.docx))
    assert "催收通知书" in text and document.number in text and case.loan.loan_no in text
    assert "81,500.00" in text  # what the loan owes, in the notice
    pdf = _read(document.pdf)
    assert pdf.startswith(b"%PDF") and b"STSong-Light" in pdf
    assert document.docx.case == case and document.pdf.kind == "notice"
    event = AuditEvent.objects.get(event_type="document.generated", subject_id=document.pk)
    assert event.actor == officer and event.new_values["document_number"] == document.number


def test_numbers_run_per_branch_and_year(case, officer, other_branch, outsider):
    first = document_generate(case=case, actor=officer, kind="collection_notice", as_of=TODAY)
    second = document_generate(case=case, actor=officer, kind="debt_acknowledgement", as_of=TODAY)
    next_year = document_generate(case=case, actor=officer, kind="collection_notice", as_of=date(2027, 1, 1))
    other = open_npl_case(branch=other_branch, officer=outsider)
    elsewhere = document_generate(case=other, actor=outsider, kind="collection_notice", as_of=TODAY)
    assert [first.sequence, second.sequence, next_year.sequence, elsewhere.sequence] == [1, 2, 1, 1]
    assert next_year.number.endswith("-2027-00001")


def test_a_failed_generation_leaves_no_gap(case, officer):
    with pytest.raises(ValidationError):
        document_generate(case=case, actor=officer, kind="guarantor_demand", as_of=TODAY)  # no guarantor named
    document = document_generate(case=case, actor=officer, kind="collection_notice", as_of=TODAY)
    assert document.sequence == 1


def test_a_demand_on_a_guarantor_names_the_guarantor(case, officer):
    guarantee = GuaranteeFactory(loan=case.loan)
    document = document_generate(case=case, actor=officer, kind="guarantor_demand", as_of=TODAY, guarantee=guarantee)
    text = _text(_read(document.docx))
    assert guarantee.guarantor.name in text and "50,000.00" in text
    other = GuaranteeFactory()
    with pytest.raises(ValidationError) as exc:
        document_generate(case=case, actor=officer, kind="guarantor_demand", as_of=TODAY, guarantee=other)
    assert "guarantee" in exc.value.message_dict


def test_nobody_outside_the_case_generates(case, outsider, auditor):
    for person in (outsider, auditor):
        with pytest.raises(PermissionDenied):
            document_generate(case=case, actor=person, kind="collection_notice", as_of=TODAY)
    assert not GeneratedDocument.objects.exists() and not DocumentCounter.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_numbers_are_unique_and_gap_free_under_concurrency(require_postgres, branch, officer):
    case = open_npl_case(branch=branch, officer=officer)
    errors: list[BaseException] = []

    def generate() -> None:
        try:
            with transaction.atomic():
                next_document_number(branch=case.branch, year=2026)
                # hold the lock a moment, as a real generation does while rendering
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_sleep(0.05)")
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=generate) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert DocumentCounter.objects.get(branch=case.branch, year=2026).last_number == 8


@pytest.mark.django_db(transaction=True)
def test_concurrent_generations_get_consecutive_numbers(require_postgres, branch, officer):
    case = open_npl_case(branch=branch, officer=officer)
    numbers: list[int] = []
    errors: list[BaseException] = []

    def generate() -> None:
        try:
            numbers.append(
                document_generate(
                    case=CollectionCase.objects.get(pk=case.pk), actor=officer, kind="collection_notice", as_of=TODAY
                ).sequence
            )
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=generate) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert sorted(numbers) == [1, 2, 3, 4]


# --- templates admins replace ---------------------------------------------------------------------


def _template(text: str) -> SimpleUploadedFile:
    document = docx.Document()
    document.add_paragraph(text)
    out = io.BytesIO()
    document.save(out)
    return SimpleUploadedFile("my.docx", out.getvalue())


def test_an_admin_replaces_a_template_and_it_is_used(case, officer, admin_user):
    template = document_template_replace(
        actor=admin_user, kind="collection_notice", upload=_template("新版催收通知书 {{ number }} {{ borrower_name }}")
    )
    assert template.version == 1
    document = document_generate(case=case, actor=officer, kind="collection_notice", as_of=TODAY)
    assert document.template_version == 1
    assert "新版催收通知书" in _text(_read(document.docx))
    assert AuditEvent.objects.filter(event_type="document_template.replaced", subject_id=template.pk).exists()


def test_a_template_that_does_not_render_is_refused_naming_the_file(admin_user):
    for bad in ("{{ no_such_name }}", "{{ number "):
        with pytest.raises(ValidationError) as exc:
            document_template_replace(actor=admin_user, kind="collection_notice", upload=_template(bad))
        assert "file" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:
        document_template_replace(actor=admin_user, kind="collection_notice", upload=upload("x.docx", PDF))
    assert "file" in exc.value.message_dict
    assert not DocumentTemplate.objects.exists()


def test_only_an_admin_replaces_templates(manager):
    with pytest.raises(PermissionDenied):
        document_template_replace(actor=manager, kind="collection_notice", upload=_template("{{ number }}"))


def test_the_templates_page_refuses_a_bad_template_with_the_field_named(client, admin_user, manager):
    client.force_login(manager)
    assert client.get(reverse("evidence:templates")).status_code == 403
    client.force_login(admin_user)
    page = client.get(reverse("evidence:templates"))
    assert page.status_code == 200 and "collection_notice" in page.content.decode()
    response = client.post(
        reverse("evidence:templates"), {"kind": "collection_notice", "file": _template("{{ oops }}")}
    )
    assert response.status_code == 400 and response.context["form"].errors["file"]
    response = client.post(
        reverse("evidence:templates"), {"kind": "collection_notice", "file": _template("{{ number }}"), "note": "v1"}
    )
    assert response.status_code == 302
    download = client.get(reverse("evidence:template_download", args=["collection_notice"]))
    assert download.status_code == 200 and "attachment" in download["Content-Disposition"]


# --- serving: method, tracking number, the document and the signed receipt -----------------------


def test_registered_mail_needs_its_tracking_number(case, officer):
    with pytest.raises(ValidationError) as exc:
        notice_serve(case=case, actor=officer, served_on=timezone.localdate(), served_to="X", method="registered_mail")
    assert "tracking_number" in exc.value.message_dict
    assert not Notice.objects.exists()


def test_serving_the_generated_notice_with_its_receipt(case, officer):
    document = document_generate(case=case, actor=officer, kind="collection_notice", as_of=timezone.localdate())
    notice = notice_serve(
        case=case,
        actor=officer,
        served_on=timezone.localdate(),
        served_to="The borrower",
        method="registered_mail",
        tracking_number="EMS1234567890CN",
        document=document,
        receipt=upload("回执.pdf"),
    )
    assert notice.document == document and notice.tracking_number == "EMS1234567890CN"
    assert notice.receipt.kind == "receipt" and notice.receipt.target_id == notice.pk
    assert notice.signed_acknowledgement  # a signed receipt: signed by the debtor
    case.refresh_from_db()
    assert case.limitation_starts_on == timezone.localdate()


def test_a_bad_receipt_refuses_the_whole_notice(case, officer):
    with pytest.raises(ValidationError) as exc:
        notice_serve(
            case=case, actor=officer, served_on=timezone.localdate(), served_to="X", receipt=upload("r.pdf", EXE)
        )
    assert "receipt" in exc.value.message_dict
    assert not Notice.objects.exists()


def test_a_receipt_attached_later_counts_the_notice_as_signed(case, officer):
    notice = notice_serve(case=case, actor=officer, served_on=timezone.localdate(), served_to="X")
    assert not notice.signed_acknowledgement
    notice = notice_receipt_attach(notice=notice, actor=officer, receipt=upload())
    assert notice.signed_acknowledgement and notice.receipt is not None
    with pytest.raises(ValidationError):
        notice_receipt_attach(notice=notice, actor=officer, receipt=upload())
    assert AuditEvent.objects.filter(event_type="case.notice_receipt_attached").count() == 1


def test_the_case_page_generates_and_serves_with_a_receipt(client, case, officer, officer2, outsider):
    client.force_login(officer)
    response = client.post(reverse("evidence:document_generate", args=[case.pk]), {"kind": "collection_notice"})
    assert response.status_code == 302
    document = GeneratedDocument.objects.get(case=case)
    page = client.get(case.get_absolute_url()).content.decode()
    assert document.number in page and 'id="record-receipt"' not in page
    data = {
        "notice-served_on": timezone.localdate().isoformat(),
        "notice-served_to": "The borrower",
        "notice-method": "in_person",
        "notice-document": document.pk,
        "notice-receipt": upload("receipt.pdf"),
    }
    response = client.post(reverse("collections_app:record_create", args=[case.pk, "notice"]), data)
    assert response.status_code == 302, response.content.decode()[:2000]
    notice = Notice.objects.get(case=case)
    assert notice.receipt is not None
    # A colleague of the branch downloads the receipt; an officer of another branch gets a 404.
    client.force_login(officer2)
    assert client.get(reverse("evidence:download", args=[notice.receipt_id])).status_code == 200
    client.force_login(outsider)
    assert client.get(reverse("evidence:download", args=[notice.receipt_id])).status_code == 404
    assert (
        client.post(reverse("evidence:document_generate", args=[case.pk]), {"kind": "public_notice"}).status_code == 404
    )
