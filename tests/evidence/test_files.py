"""Item 8: evidence files: type by content, size limit, SHA-256, private storage, scoped download, audit."""

from __future__ import annotations

import hashlib
from urllib.parse import quote

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from audit.models import AuditEvent
from collections_app.services import notice_serve
from evidence.models import EvidenceFile
from evidence.services import evidence_supersede, evidence_upload
from tests.evidence.conftest import EXE, PDF, PNG, docx_bytes, upload

pytestmark = pytest.mark.django_db


def _attach_url(case) -> str:
    return reverse("evidence:upload", args=["collections_app.collectioncase", case.pk])


def _post(client, case, file, kind="receipt"):
    prefix = f"ev-collections_app-collectioncase-{case.pk}"
    return client.post(_attach_url(case), {f"{prefix}-file": file, f"{prefix}-kind": kind})


def test_officer_uploads_a_pdf_kept_with_its_hash_and_audited(case, officer):
    evidence = evidence_upload(actor=officer, target=case, upload=upload(), kind="receipt")
    assert evidence.sha256 == hashlib.sha256(PDF).hexdigest()
    assert evidence.content_type == "application/pdf"
    assert evidence.size == len(PDF)
    assert evidence.case == case and evidence.branch == case.branch and evidence.loan == case.loan
    assert evidence.file.name.startswith(f"evidence/{case.branch_id}/")
    assert "receipt" not in evidence.file.name  # the original name is never a path
    event = AuditEvent.objects.get(event_type="evidence.uploaded", subject_id=evidence.pk)
    assert event.actor == officer and event.new_values["sha256"] == evidence.sha256


def test_pdf_that_is_really_an_exe_is_refused_naming_the_field(case, officer):
    with pytest.raises(ValidationError) as exc:
        evidence_upload(actor=officer, target=case, upload=upload("contract.pdf", EXE), kind="contract")
    assert "file" in exc.value.message_dict
    assert "EXE" in exc.value.message_dict["file"][0]
    assert not EvidenceFile.objects.exists()


def test_file_over_the_limit_is_refused_and_nothing_is_stored(case, officer, settings, tmp_path):
    settings.NPL_EVIDENCE_MAX_BYTES = len(PDF) - 1
    with pytest.raises(ValidationError) as exc:
        evidence_upload(actor=officer, target=case, upload=upload(), kind="receipt")
    assert "limit" in exc.value.message_dict["file"][0]
    assert not EvidenceFile.objects.exists()
    assert not AuditEvent.objects.filter(event_type="evidence.uploaded").exists()


def test_file_exactly_at_the_limit_is_accepted(case, officer, settings):
    settings.NPL_EVIDENCE_MAX_BYTES = len(PDF)
    assert evidence_upload(actor=officer, target=case, upload=upload(), kind="receipt").size == len(PDF)


def test_allowed_types_are_a_setting(case, officer, settings):
    settings.NPL_EVIDENCE_TYPES = ["pdf"]
    with pytest.raises(ValidationError):
        evidence_upload(actor=officer, target=case, upload=upload("photo.png", PNG), kind="photo")
    settings.NPL_EVIDENCE_TYPES = ["pdf", "png", "docx"]
    assert evidence_upload(actor=officer, target=case, upload=upload("photo.png", PNG), kind="photo").extension == "png"
    word = evidence_upload(actor=officer, target=case, upload=upload("合同.docx", docx_bytes()), kind="contract")
    assert word.extension == "docx"


def test_form_errors_name_the_file_field(client, case, officer, settings):
    client.force_login(officer)
    response = _post(client, case, upload("contract.pdf", EXE))
    assert response.status_code == 400
    assert response.context["form"].errors["file"]
    settings.NPL_EVIDENCE_MAX_BYTES = 10
    response = _post(client, case, upload())
    assert "limit" in response.context["form"].errors["file"][0]
    assert not EvidenceFile.objects.exists()


def test_upload_through_the_page_redirects_to_the_case(client, case, officer):
    client.force_login(officer)
    response = _post(client, case, upload())
    assert response.status_code == 302 and response["Location"] == case.get_absolute_url()
    assert EvidenceFile.objects.filter(case=case).count() == 1


def test_colleague_downloads_as_attachment_with_chinese_name_and_nosniff(client, case, officer, officer2):
    evidence = evidence_upload(actor=officer, target=case, upload=upload("回执.pdf"), kind="receipt")
    client.force_login(officer2)
    response = client.get(evidence.get_absolute_url())
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PDF
    assert response["Content-Type"] == "application/pdf"
    assert response["X-Content-Type-Options"] == "nosniff"
    disposition = response["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert f"filename*=utf-8''{quote('回执.pdf')}" in disposition
    assert AuditEvent.objects.filter(event_type="evidence.downloaded", subject_id=evidence.pk, actor=officer2).exists()


def test_officer_of_another_branch_gets_404_and_no_audit(client, case, officer, outsider):
    evidence = evidence_upload(actor=officer, target=case, upload=upload(), kind="receipt")
    client.force_login(outsider)
    assert client.get(evidence.get_absolute_url()).status_code == 404
    assert not AuditEvent.objects.filter(event_type="evidence.downloaded").exists()
    # Nor may they attach to the case.
    assert _post(client, case, upload()).status_code == 404
    with pytest.raises(PermissionDenied):
        evidence_upload(actor=outsider, target=case, upload=upload(), kind="receipt")


def test_auditor_downloads_but_may_not_upload(client, case, officer, auditor):
    evidence = evidence_upload(actor=officer, target=case, upload=upload(), kind="receipt")
    client.force_login(auditor)
    assert client.get(evidence.get_absolute_url()).status_code == 200
    assert _post(client, case, upload()).status_code == 403


def test_nothing_under_a_public_media_url(client, case, officer, settings):
    evidence = evidence_upload(actor=officer, target=case, upload=upload(), kind="receipt")
    client.force_login(officer)
    assert client.get("/" + settings.MEDIA_URL + evidence.file.name).status_code == 404
    assert client.get("/media/" + evidence.file.name).status_code == 404


def test_files_are_superseded_never_deleted(case, officer):
    first = evidence_upload(actor=officer, target=case, upload=upload(), kind="receipt")
    second = evidence_supersede(actor=officer, evidence=first, upload=upload("new.png", PNG), reason="clearer scan")
    first.refresh_from_db()
    assert first.superseded_by == second and first.superseded_at is not None
    assert second.kind == "receipt" and second.target_id == case.pk
    with pytest.raises(ValidationError):
        first.delete()
    with pytest.raises(ValidationError):
        evidence_supersede(actor=officer, evidence=first, upload=upload(), reason="again")
    assert AuditEvent.objects.filter(event_type="evidence.superseded", subject_id=first.pk).exists()


def test_file_on_a_notice_carries_the_case_for_scoping(case, officer, outsider):
    notice = notice_serve(case=case, actor=officer, served_on=case.opened_on, served_to="Borrower")
    evidence = evidence_upload(actor=officer, target=notice, upload=upload(), kind="receipt")
    assert evidence.case == case and evidence.target_id == notice.pk
    assert not EvidenceFile.objects.visible_to(outsider).filter(pk=evidence.pk).exists()
