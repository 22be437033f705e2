"""The permission matrix, generated from the URL configuration.

Every URL pattern of the site is asked for by seven personas: anonymous, an officer of the branch
(in scope), an officer of another branch (out of scope), the branch's manager, a manager of another
branch, an administrator and an auditor. Each answer is compared with the table below. A URL
without an entry fails the test, with the answers it got, so a new URL's author adds its row.

An entry: the method, then one answer per persona in the order of PERSONAS. Pages are asked with
GET; views that only take POST with a valid form (VALID_POST). "+" after a status: the request
wrote to the audit trail (a change went through a service); an auditor's answer never has one.
Every request runs in a savepoint that is rolled back, so each persona finds the same bank.

The Django admin's URLs are "admin only": generated from its URLconf, anyone but a staff
administrator is sent to the admin's login, and the administrator is not.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.apps import apps
from django.contrib.contenttypes.models import ContentType
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.test import Client
from django.urls import get_resolver, reverse
from django.utils import timezone

from audit.models import AuditEvent
from tests.security.conftest import PATH_ARGS, Bank, _case_cost, _rise, url_names

pytestmark = pytest.mark.django_db

PERSONAS = ("anonymous", "officer", "outsider", "manager", "outside_manager", "admin", "auditor")

# fmt: off
EXPECTED: dict[str, tuple[str, str]] = {
    #                                            anon  off   out   mgr   omgr  admin aud
    "home":                                ("GET", "302  302  302  200  200  200  200"),
    "dashboard":                           ("GET", "302  200  200  200  200  200  200"),
    "dashboards:export":                   ("GET", "302  200+ 200+ 200+ 200+ 200+ 200+"),
    "dashboards:targets":                  ("GET", "302  200  200  200  200  200  200"),
    "login":                               ("GET", "200  200  200  200  200  200  200"),
    "logout":                              ("POST", "302  302  302  302  302  302  302"),
    "language_set":                        ("POST", "302  302  302  302  302  302  302"),
    "loans:loan_list":                     ("GET", "302  200  200  200  200  200  200"),
    "loans:loan_detail":                   ("GET", "302  200  404  200  404  200  200"),
    "loans:loan_classify_now":             ("POST", "302  403  404  302  404  302  403"),
    "loans:loan_classify_manual":          ("POST", "302  403  404  302+ 404  302+ 403"),
    "loans:import_start":                  ("GET", "302  403  403  403  403  200  403"),
    "loans:import_template":               ("GET", "302  200  200  200  200  200  200"),
    "loans:import_detail":                 ("GET", "302  404  404  404  404  200  200"),
    "loans:import_progress":               ("GET", "302  404  404  404  404  200  200"),
    "loans:import_run_checked":            ("POST", "302  403  403  403  403  403  403"),
    "loans:export_index":                  ("GET", "302  403  403  200  200  200  200"),
    "loans:export":                        ("GET", "302  403  403  200+ 200+ 200+ 200+"),
    "loans:export_job":                    ("GET", "302  404  404  200  404  404  404"),
    "loans:export_job_progress":           ("GET", "302  404  404  200  404  404  404"),
    "loans:export_job_file":               ("GET", "302  404  404  200  404  404  404"),
    "collections_app:case_list":           ("GET", "302  200  200  200  200  200  200"),
    "collections_app:request_list":        ("GET", "302  200  200  200  200  200  200"),
    "collections_app:state_machine_svg":   ("GET", "302  200  200  200  200  200  200"),
    "collections_app:case_open":           ("POST", "302  302  404  302  404  302  302"),
    "collections_app:case_detail":         ("GET", "302  200  404  200  404  200  200"),
    "collections_app:case_move":           ("POST", "302  302+ 404  302+ 404  302  302"),
    "collections_app:case_request":        ("POST", "302  302+ 404  302+ 404  302  302"),
    "collections_app:request_decide":      ("POST", "302  302  404  302+ 404  302  302"),
    "collections_app:record_create":       ("POST", "302  302+ 404  302+ 404  400  400"),
    # One record form of the case page, drawn when opened (issue 15): who may record work on the case.
    "collections_app:record_form":         ("GET", "302  200  404  200  404  403  403"),
    "collections_app:cost_correct":        ("POST", "302  302+ 404  302+ 404  400  400"),
    # A cost's correction form, drawn when opened (issue 15): who may record work on the case.
    "collections_app:cost_correct_form":   ("GET", "302  200  404  200  404  403  403"),
    "ledger:entry_decide":                 ("POST", "302  302  404  302+ 404  302  302"),
    "legal:proceeding_detail":             ("GET", "302  200  404  200  404  200  200"),
    "legal:proceeding_action":             ("POST", "302  302+ 404  302+ 404  400  400"),
    "legal:order_action":                  ("POST", "302  302+ 404  302+ 404  400  400"),
    "legal:borrower_assets":               ("GET", "302  200  404  200  404  200  200"),
    "accountability:mine":                 ("GET", "302  200  200  200  200  200  200"),
    "accountability:board":                ("GET", "302  403  403  200  200  200  200"),
    "accountability:record_new":           ("GET", "302  403  403  200  200  403  403"),
    "accountability:record_detail":        ("GET", "302  200  404  200  404  200  200"),
    "accountability:record_decide":        ("POST", "302  302  404  302+ 404  302  302"),
    "accountability:case_responsibility":  ("GET", "302  200  404  200  404  200  200"),
    "accountability:case_cause":           ("GET", "302  200  404  200  404  200  200"),
    "accountability:prevention":           ("GET", "302  200  200  200  200  200  200"),
    "accountability:flag_review":          ("POST", "302  302  404  302+ 404  302  302"),
    "reconciliation:falls":                ("GET", "302  200  200  200  200  200  200"),
    "reconciliation:classify":             ("GET", "302  200  404  200  404  200  200"),
    "reconciliation:rise_acknowledge":     ("POST", "302  302+ 404  302+ 404  400  400"),
    "notifications:list":                  ("GET", "302  200  200  200  200  200  200"),
    "notifications:bell":                  ("GET", "302  200  200  200  200  200  200"),
    "notifications:read_all":              ("POST", "302  302  302  302  302  302  302"),
    "notifications:open":                  ("POST", "302  302  404  404  404  404  404"),
    "notifications:read":                  ("POST", "302  302  404  404  404  404  404"),
    "audit:trail":                         ("GET", "302  403  403  403  403  200  200"),
    "audit:history":                       ("GET", "302  403  403  200  404  200  200"),
    "accounts:password_change":            ("GET", "302  200  200  200  200  200  200"),
    "accounts:two_factor_setup":           ("GET", "302  200  200  200  200  200  200"),
    "accounts:two_factor_verify":          ("GET", "302  200  200  200  200  200  200"),
    # A download is a read, recorded in the audit trail (like an export).
    "evidence:download":                   ("GET", "302  200+ 404  200+ 404  200+ 200+"),
    "evidence:upload":                     ("POST", "302  302+ 404  302+ 404  302+ 403"),
    "evidence:document_generate":          ("POST", "302  302+ 404  302+ 404  302  302"),
    "evidence:templates":                  ("GET", "302  403  403  403  403  200  403"),
    "evidence:template_download":          ("GET", "302  403  403  403  403  200  403"),
}
# fmt: on


def _valid_post(bank: Bank) -> dict[str, dict[str, Any]]:
    """For views that only take POST: a form that would go through for someone allowed to send it."""
    today = timezone.localdate().isoformat()
    return {
        "loans:loan_classify_manual": {"five_level_class": "loss", "reason": "The borrower has absconded"},
        "collections_app:case_open": {"reason": "Stopped paying"},
        "collections_app:case_move": {
            "target": "pressure",
            "seen_measure": "responsibility",
            "reason": "Guarantor",
            "confirmed": "1",
        },
        "collections_app:case_request": {
            "target": "special_team",
            "seen_measure": "responsibility",
            "reason": "A team of two",
            "confirmed": "1",
        },
        "collections_app:request_decide": {"decision": "approve", "reason": "Agreed", "confirmed": "1"},
        "collections_app:record_create": {
            "recovery-received_on": today,
            "recovery-amount": "10.00",
            "recovery-paid_by": "borrower",
        },
        "collections_app:cost_correct": {
            f"fix-{_case_cost(bank)}-action": "reverse",
            f"fix-{_case_cost(bank)}-reason": "x",
        },
        "ledger:entry_decide": {"decision": "approve", "reason": ""},
        "reconciliation:rise_acknowledge": {f"rise-{_rise(bank)}-reason": "Interest accrued"},
        "accountability:record_decide": {"decision": "honour", "seen_state": "proposed", "reason": "Well done"},
        "accountability:flag_review": {"status": "confirmed", "note": "Evergreening"},
        "legal:proceeding_action": {"hearing-held_on": today, "hearing-place": "Court room 1"},
        "legal:order_action": {
            f"renew-{bank.order.pk}-renewed_on": today,
            f"renew-{bank.order.pk}-expires_on": (bank.order.expires_on + timedelta(days=365)).isoformat(),
        },
        "evidence:document_generate": {"kind": "collection_notice"},
        "evidence:upload": {
            f"ev-collections_app-collectioncase-{bank.case.pk}-file": _RewindingFile("receipt.pdf", b"%PDF-1.4\n%%EOF"),
            f"ev-collections_app-collectioncase-{bank.case.pk}-kind": "receipt",
        },
    }


class _RewindingFile(SimpleUploadedFile):
    """One upload sent by every persona: read from the start each time."""

    def read(self, *args: Any) -> bytes:
        self.seek(0)
        return super().read(*args)


def _answer(client: Client, method: str, path: str, data: dict) -> str:
    """The status of one request, with "+" when it wrote to the audit trail; rolled back after."""
    with transaction.atomic():
        before = AuditEvent.objects.count()
        response = client.post(path, data) if method == "POST" else client.get(path)
        wrote = AuditEvent.objects.count() > before
        transaction.set_rollback(True)
    return f"{response.status_code}{'+' if wrote else ''}"


def _clients(bank: Bank) -> dict[str, Client]:
    clients = {}
    for persona in PERSONAS:
        clients[persona] = Client()
        if bank.personas[persona] is not None:
            clients[persona].force_login(bank.personas[persona])
    return clients


def test_every_url_answers_every_persona_as_the_matrix_says(bank):
    clients = _clients(bank)
    valid = _valid_post(bank)
    missing, wrong = [], []
    for name in url_names():
        path = reverse(name, kwargs=PATH_ARGS[name](bank))
        method, expected = EXPECTED.get(name, ("GET", None))
        got = []
        for persona in PERSONAS:
            if name == "logout" and persona != "anonymous":
                client = Client()  # logging out ends the session the other rows use
                client.force_login(bank.personas[persona])
            else:
                client = clients[persona]
            got.append(_answer(client, method, path, valid.get(name, {})))
        row = "  ".join(f"{a:4s}" for a in got).rstrip()
        if expected is None:
            missing.append(f'    "{name}": ("{method}", "{row}"),')
        elif got != expected.split():
            wrong.append(f"{name} {method}\n  expected {expected}\n  got      {row}")
    assert not missing, "URLs without a row in EXPECTED (the answers they gave):\n" + "\n".join(missing)
    assert not wrong, "Answers that differ from the matrix (" + " ".join(PERSONAS) + "):\n" + "\n".join(wrong)


def test_an_auditor_never_changes_anything(bank):
    """Whatever the matrix says, no POST of an auditor writes to the audit trail (an export is a read,
    recorded as such: the export page is left out)."""
    client = _clients(bank)["auditor"]
    valid = _valid_post(bank)
    for name in url_names():
        if name in ("logout", "loans:export"):
            continue
        path = reverse(name, kwargs=PATH_ARGS[name](bank))
        assert not _answer(client, "POST", path, valid.get(name, {})).endswith("+"), name


# --- the Django admin: admin only ------------------------------------------------------------


def _admin_kwargs(name: str, bank: Bank) -> dict[str, Any] | None:
    """Path arguments of an admin URL: an existing object of its model where it names one."""
    pattern = next(p for p in _admin_patterns() if p.name == name)
    keys = set(pattern.pattern.regex.groupindex)
    if not keys:
        return {}
    if keys == {"app_label"}:
        return {"app_label": "loans"}
    if keys == {"content_type_id", "object_id"}:
        return {"content_type_id": ContentType.objects.get_for_model(bank.loan).pk, "object_id": bank.loan.pk}
    if keys == {"id"}:  # a user's password page
        return {"id": bank.personas["officer"].pk}
    if keys == {"object_id"}:
        model = next(
            (
                m
                for m in apps.get_models()
                if name.startswith(f"{m._meta.app_label}_{m._meta.model_name}_")
                and name.rsplit("_", 1)[0] == f"{m._meta.app_label}_{m._meta.model_name}"
            ),
            None,
        )
        first = model._default_manager.order_by("pk").values_list("pk", flat=True).first() if model else None
        return {"object_id": first if first is not None else 0}
    return None


def _admin_patterns():
    admin_resolver = next(p for p in get_resolver().url_patterns if getattr(p, "app_name", None) == "admin")
    patterns = []

    def walk(items):
        for p in items:
            if hasattr(p, "url_patterns"):
                walk(p.url_patterns)
            elif p.name:
                patterns.append(p)

    walk(admin_resolver.url_patterns)
    return patterns


def test_the_django_admin_is_for_administrators_only(bank):
    clients = _clients(bank)
    login = reverse("admin:login")
    problems = []
    for full_name in url_names(admin=True):
        name = full_name.split(":", 1)[1]
        if name in ("login", "logout"):
            continue
        kwargs = _admin_kwargs(name, bank)
        assert kwargs is not None, f"Give the path arguments of {full_name} in _admin_kwargs"
        path = reverse(full_name, kwargs=kwargs)
        for persona in PERSONAS:
            with transaction.atomic():
                response = clients[persona].get(path)
                transaction.set_rollback(True)
            sent_to_login = response.status_code == 302 and response["Location"].startswith(login)
            if persona == "admin":
                if sent_to_login or response.status_code >= 500:
                    problems.append(f"{full_name}: the administrator got {response.status_code}")
            elif not sent_to_login:
                problems.append(f"{full_name}: {persona} got {response.status_code}, not the admin's login")
    assert not problems, "\n".join(problems)
