"""No English left: every page, as every persona, in zh-hans shows no English sentence.

The demo bank (`seed_demo`) is loaded once for the module. Every URL pattern of the URLconf is
resolved, its arguments filled with real ids the persona may see, and the page fetched with
Accept-Language zh-CN. The visible text (no <script>/<style>, nothing inside an element marked
`translate="no"` or with the class `code`; placeholders, alt texts and button values included) must
not hold a run of two or more ASCII English words once data is taken out: the names and other
free text stored in the database (people, borrowers, branches, descriptions, reasons), e-mails,
URLs, numbers, dates, loan numbers and codes.

Pages of areas still being translated are listed by URL name in KNOWN_FAILING: they are fetched
and checked, but only reported. The list is emptied when every area is translated.

Helpers of other areas may copy `visible_text` and `english_runs` into a private test.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from html.parser import HTMLParser
from typing import Any

import pytest
from django.apps import apps
from django.core.management import call_command
from django.db import models
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

# --- visible text -------------------------------------------------------------------------------

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source", "track", "wbr"}
HIDDEN_TAGS = {"script", "style", "template", "noscript"}
SEEN_ATTRIBUTES = ("placeholder", "alt", "aria-label")


class _VisibleText(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, bool]] = []  # (tag, hidden)
        self.parts: list[str] = []

    @property
    def hidden(self) -> bool:
        return bool(self.stack) and self.stack[-1][1]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attr = {k: (v or "") for k, v in attrs}
        hidden = (
            self.hidden
            or tag in HIDDEN_TAGS
            or attr.get("translate") == "no"
            or "code" in attr.get("class", "").split()
            or "hidden" in attr
            or (tag == "input" and attr.get("type") == "hidden")
        )
        if not hidden:
            for name in SEEN_ATTRIBUTES:
                if attr.get(name):
                    self.parts.append(attr[name])
            if tag == "input" and attr.get("type") in {"submit", "button"} and attr.get("value"):
                self.parts.append(attr["value"])
        if tag not in VOID:
            self.stack.append((tag, hidden))
        self.parts.append("\n")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in VOID and self.stack and self.stack[-1][0] == tag:
            self.stack.pop()

    def handle_endtag(self, tag: str) -> None:
        # Tolerate unclosed <p>, <li>, <td>: pop up to the matching open tag, if any.
        for i in range(len(self.stack) - 1, -1, -1):
            if self.stack[i][0] == tag:
                del self.stack[i:]
                break
        self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.hidden:
            self.parts.append(data)


def visible_text(html: str) -> str:
    parser = _VisibleText()
    parser.feed(html)
    parser.close()
    return "".join(parser.parts)


NOISE = [
    re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+"),  # e-mails
    re.compile(r"(https?://|/)[\w./?=&%#:+-]*"),  # URLs and paths
    re.compile(r"\b[A-Z]{1,6}\d[\w-]*\b"),  # codes and numbers: DEMO00364, B01, ID00000001
]
WORD = r"(?<![A-Za-z0-9_])[A-Za-z][A-Za-z'’-]*(?![A-Za-z0-9_])"
ENGLISH_RUN = re.compile(rf"{WORD}(?:[ \t,:;]+{WORD})+")


def english_runs(text: str, data: list[str]) -> list[str]:
    """Runs of 2+ English words left in `text` after the stored data and the noise are taken out."""
    for value in data:  # longest first
        if value in text:
            text = text.replace(value, "\n")
    for pattern in NOISE:
        text = pattern.sub("\n", text)
    return sorted({" ".join(m.group(0).split()) for m in ENGLISH_RUN.finditer(text)})


def stored_data() -> list[str]:
    """The free text stored in the database: names, descriptions, reasons. Longest first."""
    values: set[str] = set()
    for model in apps.get_models():
        if model._meta.app_label in {"contenttypes", "sessions", "admin", "django_celery_beat", "axes"}:
            continue
        fields = [
            f.attname
            for f in model._meta.concrete_fields
            if isinstance(f, models.CharField | models.TextField) and not f.choices
        ]
        if not fields:
            continue
        for row in model._default_manager.values_list(*fields)[:20000]:
            for value in row:
                if isinstance(value, str) and len(value.strip()) > 1:
                    values.add(value.strip())
                    values.update(line.strip() for line in value.splitlines() if len(line.strip()) > 1)
    from loans.models import User

    for user in User.objects.all():
        for name in (user.get_full_name(), f"{user.last_name} {user.first_name}", str(user)):
            if name.strip():
                values.add(name.strip())
    return sorted(values, key=len, reverse=True)


# --- the URLs and their arguments ---------------------------------------------------------------

# Pages of other areas not yet translated (issue 10: w2cases, w2acct): checked and reported, not
# failed. The lead empties this list at the merge.
KNOWN_FAILING: set[str] = set()
# Not pages of this app: the Django admin (Django's own catalogue), actions that only take POST.
NOT_PAGES = {"logout", "language_set"}
PERSONAS = ["officer", "manager", "admin", "auditor"]


def url_patterns() -> Iterator[tuple[str, URLPattern]]:
    def walk(patterns: list, namespace: str) -> Iterator[tuple[str, URLPattern]]:
        for p in patterns:
            if isinstance(p, URLResolver):
                if p.namespace == "admin":
                    continue
                ns = f"{namespace}{p.namespace}:" if p.namespace else namespace
                yield from walk(p.url_patterns, ns)
            elif p.name:
                yield f"{namespace}{p.name}", p

    yield from walk(get_resolver().url_patterns, "")


def _first(queryset: models.QuerySet) -> Any:
    obj = queryset.order_by("pk").first()
    return obj.pk if obj is not None else None


def arguments(user: Any) -> dict[str, Callable[[], list[dict[str, Any]]]]:
    """For each URL name with arguments: the kwargs sets to fetch (ids the user may see)."""
    from accountability.models import AccountabilityRecord, LoansByLoansFlag
    from collections_app.models import CaseCost, CaseRequest, CollectionCase, LegalProceeding
    from evidence.models import EvidenceFile
    from ledger.models import LedgerEntry
    from loans.exporting import EXPORTS
    from loans.models import Borrower, ExportJob, ImportBatch, Loan
    from notifications.models import Notification
    from reconciliation.models import ReportedFall

    def loan() -> int | None:
        return _first(Loan.objects.visible_to(user))

    def case() -> int | None:
        return _first(CollectionCase.objects.visible_to(user))

    def batches() -> list[dict[str, Any]]:
        return [{"pk": pk} for pk in ImportBatch.objects.order_by("pk").values_list("pk", flat=True)]

    def one(key: str, value: Any) -> list[dict[str, Any]]:
        return [{key: value}] if value is not None else []

    def jobs() -> list[dict[str, Any]]:
        return [{"pk": pk} for pk in ExportJob.objects.filter(owner=user).order_by("pk").values_list("pk", flat=True)]

    return {
        "loans:loan_detail": lambda: one("pk", loan()),
        "loans:loan_classify_now": lambda: one("pk", loan()),
        "loans:loan_classify_manual": lambda: one("pk", loan()),
        "loans:import_template": lambda: [{"fmt": "xlsx"}],
        "loans:import_detail": batches,
        "loans:import_progress": batches,
        "loans:import_run_checked": batches,
        "loans:export": lambda: [{"name": name, "fmt": "csv"} for name in EXPORTS][:1],
        # A spreadsheet, not a page: its headers are checked in the dashboards' own tests.
        "dashboards:export": lambda: [],
        "loans:export_job": jobs,
        "loans:export_job_progress": jobs,
        "loans:export_job_file": jobs,
        "collections_app:case_open": lambda: one("loan_id", loan()),
        "collections_app:case_detail": lambda: one("pk", case()),
        "collections_app:case_move": lambda: one("pk", case()),
        "collections_app:case_request": lambda: one("pk", case()),
        "collections_app:request_decide": lambda: one(
            "request_id", _first(CaseRequest.objects.filter(case__in=CollectionCase.objects.visible_to(user)))
        ),
        "collections_app:record_create": lambda: [{"pk": case(), "kind": "contact"}] if case() else [],
        "collections_app:record_form": lambda: (
            [{"pk": case(), "kind": kind} for kind in ("contact", "team")] if case() else []
        ),
        "ledger:entry_decide": lambda: one("pk", _first(LedgerEntry.objects.visible_to(user))),
        "accountability:record_detail": lambda: one("pk", _first(AccountabilityRecord.objects.visible_to(user))),
        "accountability:record_decide": lambda: one("pk", _first(AccountabilityRecord.objects.visible_to(user))),
        "accountability:case_responsibility": lambda: one("case_pk", case()),
        "accountability:case_cause": lambda: one("case_pk", case()),
        "accountability:flag_review": lambda: one("pk", _first(LoansByLoansFlag.objects.all())),
        "reconciliation:classify": lambda: one("pk", _first(ReportedFall.objects.all())),
        "notifications:open": lambda: one("pk", _first(Notification.objects.filter(recipient=user))),
        "notifications:read": lambda: one("pk", _first(Notification.objects.filter(recipient=user))),
        "audit:history": lambda: [{"kind": "case", "pk": case()}] if case() else [],
        "legal:proceeding_detail": lambda: one("pk", _first(LegalProceeding.objects.visible_to(user))),
        "legal:proceeding_action": lambda: [],  # POST only
        "legal:order_action": lambda: [],  # POST only
        "collections_app:cost_correct": lambda: [],  # POST only
        "collections_app:cost_correct_form": lambda: [
            {"pk": c.case_id, "cost_pk": c.pk}
            for c in CaseCost.objects.filter(
                case__in=CollectionCase.objects.visible_to(user), reverses__isnull=True, reversal__isnull=True
            )[:1]
        ],
        "reconciliation:rise_acknowledge": lambda: [],  # POST only
        "legal:borrower_assets": lambda: one("pk", _first(Borrower.objects.visible_to(user))),
        "evidence:download": lambda: one("pk", _first(EvidenceFile.objects.visible_to(user))),
        "evidence:document_generate": lambda: one("case_pk", case()),
        "evidence:template_download": lambda: [{"kind": "collection_notice"}],
        "evidence:upload": lambda: (
            [{"target": "collections_app.collectioncase", "target_id": case()}] if case() else []
        ),
    }


# --- the test -----------------------------------------------------------------------------------


def _imports() -> None:
    """Two imports for the import pages, uploaded by an administrator working in Chinese (the
    problems are written in the uploader's language): one rejected (a bad row), one dry run."""
    from django.utils import translation

    from loans.models import User
    from tests.imports.conftest import csv_bytes, loan_row, run_import

    admin = User.objects.get(username="admin")
    bad = [loan_row(loan_no="ZH-1"), loan_row(loan_no="ZH-2", principal="abc", disbursed_on="2024-13-45")]
    with translation.override("zh-hans"):
        run_import(csv_bytes(bad), actor=admin)
        run_import(csv_bytes([loan_row(loan_no="ZH-3")]), actor=admin, dry_run=True)
    _export_jobs()


def _export_jobs() -> None:
    """A manager's export jobs, asked for in Chinese: one done, one queued (the pages of both)."""
    from unittest import mock

    from django.http import QueryDict
    from django.utils import timezone, translation

    from loans.export_jobs import export_job_claim, export_job_create, export_job_run
    from loans.exporting import LOANS_EXPORT
    from loans.models import User

    manager = User.objects.get(username="manager")
    # No worker listens here: the second job stays queued (its page shows the progress bar).
    with translation.override("zh-hans"), mock.patch("loans.export_jobs.export_job_send"):
        for fmt in ("csv", "xlsx"):
            job = export_job_create(
                actor=manager, spec=LOANS_EXPORT, fmt=fmt, query=QueryDict("five_level_class=loss"),
                chinese_row=True, as_of=timezone.localdate(),
            )  # fmt: skip
        export_job_run(job=export_job_claim(job_id=job.pk))


@pytest.fixture(scope="module")
def demo_bank(django_db_setup, django_db_blocker) -> Iterator[list[str]]:
    """The demo bank, loaded once for this module and flushed after it."""
    with django_db_blocker.unblock():
        call_command("seed_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115
        _imports()
        try:
            yield stored_data()
        finally:
            call_command("flush", interactive=False, verbosity=0)


def fetch_all(client: Client, user: Any, data: list[str]) -> tuple[dict[str, list[str]], list[str]]:
    """{'name url': [English runs]} for every page the user can open; and the URL names without args."""
    found: dict[str, list[str]] = {}
    unfilled: list[str] = []
    args = arguments(user)
    for name, pattern in url_patterns():
        if name in NOT_PAGES:
            continue
        needs_args = bool(pattern.pattern.regex.groupindex)
        if needs_args and name not in args:
            unfilled.append(name)
            continue
        from django.urls import reverse

        for kwargs in args[name]() if needs_args else [{}]:
            url = reverse(name, kwargs=kwargs)
            response = client.get(url, HTTP_ACCEPT_LANGUAGE="zh-CN")
            if response.status_code != 200 or "text/html" not in response.get("Content-Type", ""):
                continue
            runs = english_runs(visible_text(response.content.decode()), data)
            if runs:
                found[f"{name} {url}"] = runs
    return found, unfilled


def _report(found: dict[str, list[str]]) -> str:
    return "\n".join(f"  {key}: {runs[:12]}" for key, runs in sorted(found.items()))


@pytest.mark.django_db
@pytest.mark.parametrize("persona", PERSONAS)
def test_no_english_left_on_any_page(demo_bank, persona, client) -> None:
    from loans.models import User

    user = User.objects.get(username=persona)
    client.force_login(user)
    found, unfilled = fetch_all(client, user, demo_bank)
    assert not unfilled, f"URL patterns with arguments this test cannot fill (add them to arguments()): {unfilled}"
    mine = {k: v for k, v in found.items() if k.split()[0] not in KNOWN_FAILING}
    known = {k: v for k, v in found.items() if k.split()[0] in KNOWN_FAILING}
    if known:
        print(f"\n[{persona}] English left on pages of other areas (KNOWN_FAILING):\n{_report(known)}")
    assert not mine, f"[{persona}] English left on these pages (url: runs):\n{_report(mine)}"


@pytest.mark.django_db
def test_no_english_on_the_login_and_not_found_pages(demo_bank, client) -> None:
    from loans.models import Loan, User

    found = {}
    response = client.get("/login/", HTTP_ACCEPT_LANGUAGE="zh-CN")
    found["login"] = english_runs(visible_text(response.content.decode()), demo_bank)
    outsider = User.objects.get(username="officer4")  # Hillside: Riverside's loans are not his
    client.force_login(outsider)
    loan = Loan.objects.exclude(pk__in=Loan.objects.visible_to(outsider)).order_by("pk").first()
    response = client.get(f"/loans/{loan.pk}/", HTTP_ACCEPT_LANGUAGE="zh-CN")
    assert response.status_code == 404
    found["404"] = english_runs(visible_text(response.content.decode()), demo_bank)
    assert "未找到" in visible_text(response.content.decode())
    assert not any(found.values()), found


def test_the_text_filter_finds_english_and_skips_data() -> None:
    html = (
        '<html><head><title>贷款</title><style>.a{color:red}</style><script>var a = "log out";</script></head>'
        '<body><p>Log out</p><span translate="no">Riverside Branch</span><code class="code">dpd_loss rule</code>'
        '<p>借款人 Wang Wei，贷款 DEMO00364，wang@x.example</p><input placeholder="Search loans"></body></html>'
    )
    assert english_runs(visible_text(html), ["Wang Wei"]) == ["Log out", "Search loans"]
