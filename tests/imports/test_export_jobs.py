"""Exports as background jobs (issue 15, item 4): a real Celery worker writes the file, the owner
downloads it, nobody else sees it; recorded, limited, scoped, purged, and a failure keeps no file."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.files.storage import default_storage
from django.http import QueryDict
from django.utils import timezone
from openpyxl import load_workbook

from audit.models import AuditEvent
from loans.export_jobs import export_job_claim, export_job_create, export_job_run, export_jobs_purge
from loans.exporting import EXPORT_EVENT, LOANS_EXPORT, ExportLimitReached
from loans.models import ExportJob
from tests.conftest import wait_for
from tests.factories import LoanFactory


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return tmp_path / "media"


@pytest.fixture
def loans(branch, other_branch):
    for i in range(12):
        LoanFactory(loan_no=f"RIV-{i:03d}", branch=branch, outstanding_principal=Decimal("1234.50") + i)
    for i in range(3):
        LoanFactory(loan_no=f"HIL-{i:03d}", branch=other_branch)


def _body(response) -> bytes:
    return b"".join(response.streaming_content)


def _csv_rows(content: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(content.decode("utf-8-sig"))))


def _files(media) -> list:
    return [p for p in media.rglob("*") if p.is_file()] if media.exists() else []


def _job(actor, *, fmt="csv", query="") -> ExportJob:
    return export_job_create(
        actor=actor, spec=LOANS_EXPORT, fmt=fmt, query=QueryDict(query), chinese_row=False, as_of=timezone.localdate()
    )


@pytest.mark.django_db(transaction=True)
def test_a_large_export_runs_on_a_real_worker_and_only_its_owner_downloads_it(
    loans, manager, outside_manager, admin_user, client, settings, media, celery_worker_factory
):
    settings.NPL_EXPORT_SYNC_MAX_ROWS = 5  # the manager's 12 loans are "large"
    settings.NPL_EXPORT_QUEUE = celery_worker_factory.queue
    celery_worker_factory(extra_env={"MEDIA_ROOT": str(media)})
    client.force_login(manager)

    # Above the threshold the page offers a job instead of writing the file while it waits.
    offer = client.get("/loans/export/loans.csv?q=RIV")
    assert offer.status_code == 200 and b'id="export-start"' in offer.content
    assert not AuditEvent.objects.filter(event_type=EXPORT_EVENT).exists()  # nothing exported yet
    started = client.post("/loans/export/loans.csv", {"query": "q=RIV"})
    job = ExportJob.objects.get()
    assert started.status_code == 302 and started["Location"] == f"/loans/export/jobs/{job.pk}/"
    assert (job.owner, job.export, job.fmt, job.query) == (manager, "loans", "csv", {"q": ["RIV"]})

    assert wait_for(lambda: ExportJob.objects.get(pk=job.pk).is_finished, timeout=120)
    job.refresh_from_db()
    assert job.status == "done", job.message
    assert (job.rows_total, job.rows_written) == (12, 12)
    assert job.expires_at - job.finished_at == timedelta(days=settings.NPL_EXPORT_KEEP_DAYS)
    assert job.file.name.startswith(f"exports/{manager.pk}/")

    page = client.get(f"/loans/export/jobs/{job.pk}/")
    assert page.status_code == 200 and b'id="export-download"' in page.content
    assert client.get(f"/loans/export/jobs/{job.pk}/progress/").status_code == 200
    download = client.get(f"/loans/export/jobs/{job.pk}/file/")
    assert download.status_code == 200 and download["Content-Type"].startswith("text/csv")
    rows = _csv_rows(_body(download))
    # The manager's scope, applied when the job ran: Riverside's loans, not Hillside's.
    assert sorted(r["loan_no"] for r in rows) == [f"RIV-{i:03d}" for i in range(12)]
    assert rows[0]["outstanding_principal"] == "1234.50"

    # Recorded once, when it was asked for: who, what, the filters, the rows, the job.
    event = AuditEvent.objects.get(event_type=EXPORT_EVENT)
    assert event.actor == manager
    assert event.new_values == {
        "export": "loans", "format": "csv", "filters": {"q": "RIV"}, "rows": 12, "via": "job", "job": job.pk,
    }  # fmt: skip

    # Anyone else, however senior, gets a 404 for the job, its progress and its file.
    for other in (outside_manager, admin_user):
        client.force_login(other)
        for suffix in ("", "progress/", "file/"):
            assert client.get(f"/loans/export/jobs/{job.pk}/{suffix}").status_code == 404


@pytest.mark.django_db
def test_an_xlsx_job_has_numbers_as_numbers_and_a_small_export_stays_synchronous(
    loans, manager, client, settings, media
):
    settings.NPL_EXPORT_SYNC_MAX_ROWS = 20
    client.force_login(manager)
    small = client.get("/loans/export/loans.csv")  # 12 rows: written while the page waits
    assert small.status_code == 200 and len(_csv_rows(_body(small))) == 12

    job = _job(manager, fmt="xlsx")
    job = export_job_run(job=export_job_claim(job_id=job.pk))
    assert job.status == "done" and job.rows_written == 12
    response = client.get(f"/loans/export/jobs/{job.pk}/file/")
    sheet = load_workbook(io.BytesIO(_body(response))).active
    header = [c.value for c in sheet[1]]
    first = dict(zip(header, next(sheet.iter_rows(min_row=2, values_only=True)), strict=True))
    assert first["loan_no"] == "RIV-000"
    # A whole number (a workbook's numbers are doubles: rust_xlsxwriter spells 7 as "7.0", issue 15).
    days = first["days_past_due"]
    assert first["outstanding_principal"] == 1234.5 and isinstance(days, int | float) and days == int(days)
    assert sheet["A2"].data_type == "s" and sheet.cell(row=2, column=header.index("principal") + 1).data_type == "n"
    assert sheet.freeze_panes == "A2"


@pytest.mark.django_db
def test_an_officer_may_not_start_a_job(loans, officer):
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        _job(officer)
    assert not ExportJob.objects.exists()


@pytest.mark.django_db
def test_jobs_count_against_the_hourly_limit_and_a_refused_one_leaves_no_job(loans, manager, client, settings):
    settings.NPL_EXPORTS_PER_HOUR = 2
    settings.NPL_EXPORT_SYNC_MAX_ROWS = 5
    _job(manager)
    client.force_login(manager)
    assert client.post("/loans/export/loans.xlsx", {"query": ""}).status_code == 302
    with pytest.raises(ExportLimitReached):
        _job(manager)
    refused = client.post("/loans/export/loans.csv", {"query": ""})
    assert refused.status_code == 429
    assert ExportJob.objects.count() == 2
    assert AuditEvent.objects.filter(event_type=EXPORT_EVENT, actor=manager).count() == 2


@pytest.mark.django_db
def test_the_purge_deletes_files_past_their_days_and_the_download_goes(loans, manager, client, media):
    old, fresh = _job(manager), _job(manager)
    for job in (old, fresh):
        export_job_run(job=export_job_claim(job_id=job.pk))
    old.refresh_from_db()
    old_file = old.file.name
    assert default_storage.exists(old_file)
    ExportJob.objects.filter(pk=old.pk).update(expires_at=timezone.now() - timedelta(minutes=1))

    assert export_jobs_purge(now=timezone.now()) == 1
    old.refresh_from_db()
    assert old.status == "expired" and not old.file and not default_storage.exists(old_file)
    assert ExportJob.objects.get(pk=fresh.pk).status == "done"
    assert len(_files(media)) == 1  # the fresh one's
    purge = AuditEvent.objects.get(event_type="system.exports.purged")
    assert purge.new_values["jobs"] == [old.pk]
    client.force_login(manager)
    assert client.get(f"/loans/export/jobs/{old.pk}/file/").status_code == 404
    assert b"deleted after the days it is kept" in client.get(f"/loans/export/jobs/{old.pk}/").content


@pytest.mark.django_db
def test_a_failed_job_keeps_no_file_and_says_why(loans, manager, client, media, monkeypatch):
    import loans.export_jobs as export_jobs

    def disk_full(out, headers, rows):
        for _ in zip(range(3), rows, strict=False):
            out.write("a row\n")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(export_jobs, "write_csv", disk_full)
    monkeypatch.setattr(export_jobs, "copy_statement", lambda *args: None)  # the Python writer
    job = export_job_run(job=export_job_claim(job_id=_job(manager).pk))
    assert job.status == "failed" and not job.file and job.finished_at
    assert "No space left on device" in job.message and "No file was kept" in job.message
    assert _files(media) == []
    client.force_login(manager)
    page = client.get(f"/loans/export/jobs/{job.pk}/")
    assert b'id="export-failed"' in page.content and b"No space left on device" in page.content
    assert client.get(f"/loans/export/jobs/{job.pk}/file/").status_code == 404


@pytest.mark.django_db
def test_a_finished_job_is_not_run_twice(loans, manager, media):
    job = _job(manager)
    export_job_run(job=export_job_claim(job_id=job.pk))
    assert export_job_claim(job_id=job.pk) is None


@pytest.mark.django_db(transaction=True)
def test_a_job_left_running_by_a_gone_worker_is_sent_again_then_failed(
    loans, manager, require_postgres, settings, monkeypatch
):
    import loans.export_jobs as export_jobs
    from npl_recovery.jobs import jobs_recover_stale

    settings.NPL_JOB_MAX_ATTEMPTS = 2
    sent = []  # what would go to the broker (no worker listens in this test)
    monkeypatch.setattr(export_jobs, "export_job_send", lambda **kw: sent.append(kw["job_id"]))
    job = _job(manager)
    assert sent == [job.pk]
    ExportJob.objects.filter(pk=job.pk).update(status="running", started_at=timezone.now() - timedelta(minutes=5))
    found = [j for j in jobs_recover_stale(now=timezone.now()) if j.kind == "export_job"]
    assert [(j.id, j.outcome) for j in found] == [(job.pk, "requeued")] and sent == [job.pk, job.pk]
    ExportJob.objects.filter(pk=job.pk).update(status="running", started_at=timezone.now() - timedelta(minutes=5))
    found = [j for j in jobs_recover_stale(now=timezone.now()) if j.kind == "export_job"]
    assert [(j.id, j.outcome) for j in found] == [(job.pk, "failed")]
    job.refresh_from_db()
    assert job.status == "failed" and job.attempts == 2 and "2 attempts" in job.message
