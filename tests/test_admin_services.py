"""The Django admin is one more thin interface: read-only, or saving through the services (audited).

The walk at the end visits every registered model's change form, add form, delete page and
actions (iterating `admin.site._registry`), changes one field at a time, and checks that every
change either is refused or leaves an AuditEvent about the changed record.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django import forms
from django.apps import apps
from django.contrib import admin
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Group
from django.contrib.sessions.models import Session
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.test import RequestFactory
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from accountability.models import DailyCheckRun, LoansByLoansFlag, MonthEndSnapshot, WatchListEntry
from accountability.services import record_propose
from audit.models import AuditEvent
from collections_app import services as cases
from evidence.services import evidence_upload
from loans.models import Branch, ClassificationChange, ClassificationRun, ImportBatch, Loan, Role, User
from loans.services import (
    branch_create,
    branch_update,
    guarantee_add,
    guarantee_remove,
    loan_update,
    loans_reclassify,
    user_update,
)
from notifications.models import Notification
from tests.accountability.conftest import open_npl_case
from tests.factories import CollateralFactory, GuaranteeFactory, GuarantorFactory, LoanFactory, UserFactory

pytestmark = pytest.mark.django_db
TODAY = date(2026, 3, 2)


@pytest.fixture(autouse=True)
def _fast_passwords(settings) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def root(head_office) -> User:
    return UserFactory(
        username="root", role=Role.ADMIN, branch=head_office, is_staff=True, is_superuser=True, first_name="Root"
    )


# --- posting an admin form as the browser would ------------------------------------------------------


def _post_value(field: forms.Field, value: Any) -> Any:
    if isinstance(field.widget, forms.CheckboxInput):
        return "on" if value else None
    if isinstance(value, list | tuple):
        return [str(v) for v in value]
    return "" if value is None else str(value)


def admin_form_data(response) -> dict[str, Any]:
    """The POST data of an admin add/change page as rendered (its form and inline formsets)."""
    data: dict[str, Any] = {}

    def add(form: forms.BaseForm) -> None:
        for name, field in form.fields.items():
            value = form[name].value()
            if isinstance(field.widget, forms.MultiWidget):
                parts = field.widget.decompress(value) if not isinstance(value, list) else value
                for suffix, part in zip(field.widget.widgets_names, parts, strict=False):
                    data[form.add_prefix(name) + suffix] = "" if part is None else str(part)
                continue
            posted = _post_value(field, value)
            if posted is not None:
                data[form.add_prefix(name)] = posted

    add(response.context["adminform"].form)
    for inline in response.context.get("inline_admin_formsets", []):
        add(inline.formset.management_form)
        for form in inline.formset.forms:
            add(form)
    return data


# --- the example of the issue ------------------------------------------------------------------------


def test_a_loans_outstanding_principal_corrected_in_the_admin_is_audited_and_its_provision_recomputed(
    client, root, branch
):
    loan = LoanFactory(
        branch=branch,
        principal=Decimal("100000.00"),
        outstanding_principal=Decimal("94000.00"),
        overdue_since=TODAY - timedelta(days=120),
    )
    loans_reclassify(as_of=date.today(), loan_ids=[loan.pk])
    loan.refresh_from_db()
    assert (loan.five_level_class, loan.specific_provision) == ("loss", Decimal("94000.00"))
    client.force_login(root)
    url = reverse("admin:loans_loan_change", args=[loan.pk])
    data = admin_form_data(client.get(url))
    data.update(outstanding_principal="1.00", reason="Core banking book: repaid on 28 February")
    response = client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else ""
    loan.refresh_from_db()
    assert (loan.outstanding_principal, loan.specific_provision) == (Decimal("1.00"), Decimal("1.00"))
    event = AuditEvent.objects.get(event_type="loan.updated")
    assert (event.actor, event.subject_id, event.branch_id) == (root, loan.pk, branch.pk)
    assert event.old_values == {"outstanding_principal": "94000.00", "specific_provision": "94000.00"}
    assert event.new_values == {"outstanding_principal": "1.00", "specific_provision": "1.00"}
    assert event.reason == "Core banking book: repaid on 28 February"


def test_a_corrected_overdue_date_reclassifies_the_loan_with_its_history(client, root, branch):
    loan = LoanFactory(branch=branch, outstanding_principal=Decimal("80000.00"), overdue_since=None)
    client.force_login(root)
    url = reverse("admin:loans_loan_change", args=[loan.pk])
    data = admin_form_data(client.get(url))
    overdue_since = date.today() - timedelta(days=100)
    data.update(overdue_since=overdue_since.isoformat(), reason="Missed in the last import")
    assert client.post(url, data).status_code == 302
    loan.refresh_from_db()
    assert (loan.overdue_since, loan.five_level_class, loan.specific_provision) == (
        overdue_since,
        "substandard",
        Decimal("20000.00"),
    )
    change = ClassificationChange.objects.get(loan=loan, scheme="five_level")
    assert (change.from_class, change.to_class, change.actor) == ("normal", "substandard", root)
    event = AuditEvent.objects.get(event_type="loan.updated")
    assert event.new_values["five_level_class"] == "substandard" and event.old_values["five_level_class"] == "normal"
    run_event = AuditEvent.objects.get(event_type="loans.reclassified")
    assert run_event.new_values["first_classification_change_id"] <= change.pk
    assert run_event.new_values["last_classification_change_id"] >= change.pk


def test_a_correction_needs_a_reason_and_keeps_the_principal_rule(client, root, branch):
    loan = LoanFactory(branch=branch, principal=Decimal("100000.00"), outstanding_principal=Decimal("94000.00"))
    client.force_login(root)
    url = reverse("admin:loans_loan_change", args=[loan.pk])
    data = admin_form_data(client.get(url))
    data.update(outstanding_principal="100000.01", reason="")
    page = client.post(url, data)
    assert page.status_code == 200
    errors = page.context["adminform"].form.errors
    assert "reason" in errors
    assert "The outstanding principal must be between 0 and the principal." in str(errors)
    loan.refresh_from_db()
    assert loan.outstanding_principal == Decimal("94000.00") and not AuditEvent.objects.exists()


def test_loan_update_refuses_a_manager_and_fields_it_does_not_correct(manager, branch, admin_user):
    loan = LoanFactory(branch=branch)
    with pytest.raises(PermissionDenied):
        loan_update(loan=loan, actor=manager, as_of=TODAY, reason="x", outstanding_principal="1.00")
    with pytest.raises(ValidationError, match="cannot be changed here: five_level_class"):
        loan_update(loan=loan, actor=admin_user, as_of=TODAY, reason="x", five_level_class="normal")
    assert not AuditEvent.objects.exists()


# --- users, groups, branches, guarantees ----------------------------------------------------------------


def test_making_a_user_a_superuser_in_the_admin_is_audited(client, root, officer):
    client.force_login(root)
    url = reverse("admin:loans_user_change", args=[officer.pk])
    data = admin_form_data(client.get(url))
    data.update(is_superuser="on", is_staff="on", reason="Covers for the administrator in July")
    assert client.post(url, data).status_code == 302
    officer.refresh_from_db()
    assert officer.is_superuser and officer.is_staff
    event = AuditEvent.objects.get(event_type="user.updated")
    assert (event.actor, event.subject_id, event.branch_id) == (root, officer.pk, officer.branch_id)
    assert event.old_values == {"is_staff": False, "is_superuser": False}
    assert event.new_values == {"is_staff": True, "is_superuser": True}


def test_only_a_superuser_makes_a_superuser(officer, head_office):
    bank_admin = UserFactory(username="bank_admin", role=Role.ADMIN, branch=head_office, is_staff=True)
    with pytest.raises(PermissionDenied, match="Only a superuser"):
        user_update(user=officer, actor=bank_admin, is_superuser=True)
    user_update(user=officer, actor=bank_admin, role=Role.MANAGER, reason="Promoted")
    officer.refresh_from_db()
    assert (officer.role, officer.is_superuser) == ("manager", False)


def test_a_password_set_in_the_admin_is_audited_without_the_password(client, root, officer):
    client.force_login(root)
    url = reverse("admin:auth_user_password_change", args=[officer.pk])
    response = client.post(
        url, {"password1": "Fresh-pass-2026!", "password2": "Fresh-pass-2026!", "usable_password": "true"}
    )
    assert response.status_code == 302
    officer.refresh_from_db()
    assert officer.check_password("Fresh-pass-2026!")
    event = AuditEvent.objects.get(event_type="user.password_set")
    assert event.new_values == {"usable_password": True, "password": "changed"}
    assert "Fresh" not in str(event.new_values) and officer.password not in str(event.new_values)


def test_adding_a_user_in_the_admin_goes_through_the_service(client, root, branch):
    client.force_login(root)
    response = client.post(
        reverse("admin:loans_user_add"),
        {
            "username": "newcomer",
            "usable_password": "true",
            "password1": "Newcomer-pass-2026!",
            "password2": "Newcomer-pass-2026!",
            "first_name": "Li",
            "last_name": "Na",
            "email": "li.na@bank.example",
            "role": "officer",
            "branch": str(branch.pk),
            "reason": "Joined Riverside",
        },
    )
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else ""
    user = User.objects.get(username="newcomer")
    assert (user.role, user.branch, user.check_password("Newcomer-pass-2026!")) == ("officer", branch, True)
    event = AuditEvent.objects.get(event_type="user.created")
    assert event.subject_id == user.pk and event.new_values["role"] == "officer" and "password" not in event.new_values


def test_adding_a_branch_in_the_admin_is_audited(client, root, branch):
    client.force_login(root)
    response = client.post(
        reverse("admin:loans_branch_add"),
        {"code": "O12", "name": "Riverside Station", "kind": "outlet", "parent": str(branch.pk), "reason": "Opened"},
    )
    assert response.status_code == 302
    outlet = Branch.objects.get(code="O12")
    assert outlet.path == "/HO/B01/O12/"
    event = AuditEvent.objects.get(event_type="branch.created")
    assert (event.actor, event.subject_id, event.new_values["parent"]) == (root, outlet.pk, branch.pk)


def test_deleting_a_guarantee_in_the_admin_is_audited(client, root, branch):
    guarantee = GuaranteeFactory(loan=LoanFactory(branch=branch), amount=Decimal("50000.00"))
    client.force_login(root)
    response = client.post(reverse("admin:loans_guarantee_delete", args=[guarantee.pk]), {"post": "yes"})
    assert response.status_code == 302
    assert not type(guarantee).objects.filter(pk=guarantee.pk).exists()
    event = AuditEvent.objects.get(event_type="guarantee.removed")
    assert (event.actor, event.subject_id, event.branch_id) == (root, guarantee.pk, branch.pk)
    assert event.old_values["amount"] == "50000.00" and event.old_values["loan"] == guarantee.loan_id


def test_a_guarantee_with_demands_is_kept(branch, officer, admin_user):
    case = open_npl_case(branch=branch, officer=officer, opened_on=TODAY)
    guarantee = guarantee_add(
        loan=case.loan, guarantor=GuarantorFactory(), amount=Decimal("10000.00"), actor=admin_user, reason="Signed"
    )
    cases.guarantor_demand_record(
        case=case, actor=officer, guarantee=guarantee, demanded_on=TODAY, amount=Decimal("10000.00")
    )
    with pytest.raises(ValidationError, match="Demands on the guarantor were recorded"):
        guarantee_remove(guarantee=guarantee, actor=admin_user)
    assert type(guarantee).objects.filter(pk=guarantee.pk).exists()


def test_groups_are_read_only_in_the_admin(client, root):
    group = Group.objects.create(name="Regional risk")
    client.force_login(root)
    assert client.post(reverse("admin:auth_group_add"), {"name": "Escalated"}).status_code == 403
    assert client.post(reverse("admin:auth_group_delete", args=[group.pk]), {"post": "yes"}).status_code == 403
    assert list(Group.objects.values_list("name", flat=True)) == ["Regional risk"]


def test_unlocking_a_user_is_audited(client, root, officer):
    AccessAttempt.objects.create(
        username=officer.username, ip_address="10.0.0.9", user_agent="x", failures_since_start=10
    )
    client.force_login(root)
    response = client.post(
        reverse("admin:loans_user_changelist"), {"action": "unlock_logins", "_selected_action": [officer.pk]}
    )
    assert response.status_code == 302
    assert not AccessAttempt.objects.filter(username=officer.username).exists()
    event = AuditEvent.objects.get(event_type="user.unlocked")
    assert (event.subject_id, event.old_values, event.new_values) == (
        officer.pk,
        {"failed_login_records": 1},
        {"failed_login_records": 0},
    )


# --- the head office ----------------------------------------------------------------------------------


def test_only_the_head_office_may_be_without_a_parent(head_office, admin_user):
    with pytest.raises(IntegrityError), transaction.atomic():
        Branch.objects.create(code="X1", name="Floating branch", kind=Branch.Kind.BRANCH, parent=None)
    with pytest.raises(IntegrityError), transaction.atomic():
        Branch.objects.create(code="X2", name="Second head office", kind=Branch.Kind.HEAD_OFFICE, parent=head_office)
    with pytest.raises(ValidationError, match="Only the head office has no parent branch"):
        branch_create(actor=admin_user, code="X3", name="Floating branch", kind="branch", parent=None)
    assert not Branch.objects.filter(code__startswith="X").exists()


def test_a_branch_cannot_be_moved_out_of_the_tree(branch, admin_user):
    with pytest.raises(ValidationError, match="Only the head office has no parent branch"):
        branch_update(branch=branch, actor=admin_user, parent=None)
    branch.refresh_from_db()
    assert branch.parent.code == "HO" and not AuditEvent.objects.exists()


def test_only_head_office_managers_see_the_whole_bank(branch, outlet, other_branch, head_manager, manager):
    loans = {b.code: LoanFactory(branch=b) for b in (branch, outlet, other_branch)}
    assert set(Loan.objects.visible_to(head_manager)) == set(loans.values())
    assert set(Loan.objects.visible_to(manager)) == {loans["B01"], loans["O11"]}


# --- the walk: every admin, every form, every action ------------------------------------------------------

# Rows that change on every request and are not records of the bank.
NOT_RECORDS = {AuditEvent, LogEntry, Session}


def _freeze(value: Any) -> Any:
    return repr(value)


def snapshot() -> set[tuple[str, Any, tuple]]:
    rows: set[tuple[str, Any, tuple]] = set()
    for model in apps.get_models(include_auto_created=True):
        if model in NOT_RECORDS:
            continue
        for row in model._base_manager.values():
            rows.add((model._meta.label_lower, row.get("id"), tuple(sorted((k, _freeze(v)) for k, v in row.items()))))
    return rows


@pytest.fixture
def world(root, branch, officer, manager, manager2, head_office):
    """One row at least of every model the admin shows, made through the services where there is one."""
    case = open_npl_case(branch=branch, officer=officer, opened_on=TODAY, dpd=400)
    loan = case.loan
    guarantee = GuaranteeFactory(loan=loan, amount=Decimal("20000.00"))
    CollateralFactory(loan=loan)
    cases.contact_record(case=case, actor=officer, kind="call", contacted_on=TODAY, summary="Called the borrower")
    cases.notice_serve(case=case, actor=officer, served_on=TODAY, served_to="Wang Wei")
    cases.promise_record(
        case=case, actor=officer, promised_on=TODAY, amount=Decimal("1000.00"), due_on=TODAY + timedelta(days=10)
    )
    cases.guarantor_demand_record(
        case=case, actor=officer, guarantee=guarantee, demanded_on=TODAY, amount=Decimal("5000.00")
    )
    proceeding = cases.legal_proceeding_file(
        case=case, actor=officer, court="County Court", case_number="2026-1", filed_on=TODAY
    )
    from legal import models as legal_models
    from legal import services as legal

    legal.hearing_record(proceeding=proceeding, actor=officer, held_on=TODAY, place="Room 1")
    asset = legal.debtor_asset_register(
        actor=officer,
        branch=branch,
        borrower=loan.borrower,
        kind="vehicle",
        description="Van",
        found_on=TODAY,
        estimated_value=Decimal("1000"),
    )
    legal.preservation_order_record(
        proceeding=proceeding,
        actor=officer,
        kind="seal",
        asset_kind="vehicle",
        description="Van",
        ruling_on=TODAY,
        asset=asset,
    )
    legal.guarantee_term_set(case=case, guarantee=guarantee, actor=officer, period_ends_on=TODAY)
    legal_models.GuaranteeRelease.objects.create(
        guarantee=guarantee,
        loan=loan,
        branch=branch,
        period_ended_on=TODAY,
        released_on=TODAY,
        amount_lost=Decimal("1.00"),
    )
    legal_models.LegalReminder.objects.create(
        kind="hearing", object_id=1, days_before=1, due_on=TODAY, branch=branch, sent_on=TODAY
    )
    cases.asset_take_in_kind(
        case=case, actor=officer, kind="vehicle", description="Truck", taken_on=TODAY, appraised_value=Decimal("3000")
    )
    recovery = cases.recovery_record(case=case, actor=officer, received_on=TODAY, amount=Decimal("500.00"))
    # A fall reported by the book (issue 11), raised back by a correction so the balance is as before.
    from ledger.services import ledger_post
    from reconciliation.models import ReportedFall

    posted = {"loan": loan, "interest_on": Decimal("0"), "interest_off": Decimal("0"), "value_date": TODAY}
    fall = ledger_post(kind="book_reported", principal=Decimal("-100.00"), actor=None, as_of=TODAY, case=case, **posted)
    rise = ledger_post(kind="book_correction", principal=Decimal("100.00"), actor=None, as_of=TODAY, **posted)
    ReportedFall.objects.create(
        entry=fall, loan=loan, case=case, branch=branch, officer=officer, amount=Decimal("100.00"), reported_on=TODAY
    )
    from reconciliation.models import RiseAcknowledgement

    RiseAcknowledgement.objects.create(entry=rise, branch=branch, reason="Interest accrued", acknowledged_by=officer)
    cases.case_request_create(case=case, target="legal", actor=officer, as_of=TODAY, reason="Refuses to pay")
    evidence_upload(
        actor=officer, target=case, upload=ContentFile(b"%PDF-1.4\n%%EOF\n", name="receipt.pdf"), kind="receipt"
    )
    record_propose(officer=officer, record_type="wage_stop", reason="No contact", actor=manager, as_of=TODAY)
    new_loan = LoanFactory(
        branch=branch, borrower=loan.borrower, disbursed_on=TODAY, maturity_on=TODAY + timedelta(days=365)
    )
    LoansByLoansFlag.objects.create(
        new_loan=new_loan,
        overdue_loan=loan,
        repayment=recovery,
        relation="same_borrower",
        branch=branch,
        repaid_on=TODAY,
        repaid_amount=Decimal("500.00"),
        disbursed_on=TODAY,
        new_loan_principal=new_loan.principal,
        found_on=TODAY,
    )
    WatchListEntry.objects.create(
        as_of=TODAY,
        loan=new_loan,
        branch=branch,
        five_level_class="normal",
        days_past_due=3,
        outstanding_principal=new_loan.outstanding_principal,
        reasons="past_due",
        first_seen_on=TODAY,
    )
    MonthEndSnapshot.objects.create(month=date(2026, 2, 1), branch=branch, officer=officer, loans=2)
    from dashboards.services import target_set

    target_set(
        actor=manager,
        year=TODAY.year,
        branch=branch,
        officer=officer,
        npl_reduction=Decimal("1000.00"),
        cash_recovered=Decimal("500.00"),
        reason="Plan",
    )
    DailyCheckRun.objects.create(check_name="watch_list", as_of=TODAY, status="done")
    loans_reclassify(as_of=TODAY)  # a whole-book run
    ImportBatch.objects.create(source="page", as_of=TODAY, file_name="june.csv", created_by=root)
    Notification.objects.get_or_create(
        key="walk", defaults={"recipient": officer, "kind": "walk", "title": "A notification"}
    )
    Group.objects.create(name="Regional risk")
    AccessAttempt.objects.create(username="officer", ip_address="10.0.0.9", user_agent="x", failures_since_start=2)
    AccessLog.objects.create(username="officer", ip_address="10.0.0.9", user_agent="x")
    AccessFailureLog.objects.create(username="officer", ip_address="10.0.0.9", user_agent="x")
    TOTPDevice.objects.create(user=manager, name="Authenticator app", confirmed=True)
    assert ClassificationRun.objects.exists() and ClassificationChange.objects.exists()


def _mutated(field: forms.Field, value: Any, name: str) -> Any:
    """Another valid-looking value for one form field (None when there is none to try)."""
    if isinstance(field, forms.BooleanField):
        return None if value else "on"
    if isinstance(field, forms.ModelMultipleChoiceField):
        options = [str(pk) for pk in field.queryset.values_list("pk", flat=True)[:2]]
        chosen = set(_post_value(field, value) or [])
        other = [o for o in options if o not in chosen]
        return [*chosen, other[0]] if other else None
    if isinstance(field, forms.ModelChoiceField):
        current = "" if value is None else str(value)
        other = next((str(pk) for pk in field.queryset.values_list("pk", flat=True) if str(pk) != current), None)
        return other
    if isinstance(field, forms.TypedChoiceField | forms.ChoiceField):
        current = "" if value is None else str(value)
        return next((str(c) for c, _ in field.choices if str(c) not in (current, "")), None)
    if isinstance(field, forms.DecimalField):
        return "1.00" if value and Decimal(str(value)) != Decimal("1.00") else "2.00"
    if isinstance(field, forms.IntegerField):
        return str((value or 0) + 1)
    if isinstance(field, forms.DateField):
        return ((value or TODAY) - timedelta(days=1)).isoformat()
    if isinstance(field, forms.EmailField):
        return f"walk.{name}@bank.example"
    if isinstance(field, forms.CharField):
        return f"{value or ''}W"[: field.max_length or 50]
    return None


class Walk:
    def __init__(self, client) -> None:
        self.client = client
        self.checked: list[str] = []
        self.audited_changes: set[str] = set()  # models whose rows the walk changed (with their audit)

    def request(self, what: str, method: str, url: str, data: dict | None = None, *, subject: tuple | None = None):
        before, last_event = snapshot(), AuditEvent.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
        response = self.client.post(url, data or {}) if method == "post" else self.client.get(url)
        assert response.status_code in (200, 302, 403), f"{what}: {response.status_code}"
        changed = before ^ snapshot()
        events = list(AuditEvent.objects.filter(pk__gt=last_event))
        self.checked.append(what)
        if not changed:
            return response
        touched = {(label, pk) for label, pk, _ in changed}
        assert events, f"{what}: changed {sorted(touched)} and wrote no AuditEvent"
        self.audited_changes |= {label for label, _ in touched}
        if subject is not None:
            audited = {(e.subject_type, e.subject_id) for e in events}
            for label, pk in touched:
                if label == subject[0] and (subject[1] is None or pk == subject[1]):
                    assert (label, pk) in audited, f"{what}: {label} #{pk} changed without its own AuditEvent"
        return response


def test_every_admin_form_and_action_is_read_only_or_audited(client, root, world):
    client.force_login(root)
    walk = Walk(client)
    request = RequestFactory().get("/admin/")
    request.user = root
    walked = set()
    for model, model_admin in admin.site._registry.items():
        label, info = model._meta.label_lower, (model._meta.app_label, model._meta.model_name)
        walked.add(label)
        obj = model_admin.get_queryset(request).order_by("pk").first()
        assert obj is not None, f"the walk's world has no {label}: add one to the `world` fixture"
        change_url = reverse("admin:{}_{}_change".format(*info), args=[obj.pk])
        page = walk.request(f"{label} change page", "get", change_url)
        assert page.status_code == 200, f"{label}: the admin cannot show its records"
        form = page.context["adminform"].form
        base = admin_form_data(page)
        base["reason"] = "The walk"
        walk.request(f"{label} saved unchanged", "post", change_url, base, subject=(label, obj.pk))
        for name, field in form.fields.items():
            value = _mutated(field, form[name].value(), name)
            if name in ("reason", "password") or value is None:
                continue
            data = {**base, name: value}
            if value is None:
                data.pop(name)
            walk.request(f"{label}.{name} changed", "post", change_url, data, subject=(label, obj.pk))
            obj = model._base_manager.filter(pk=obj.pk).first() or obj

        add_url = reverse("admin:{}_{}_add".format(*info))
        add_page = walk.request(f"{label} add page", "get", add_url)
        if add_page.status_code == 200:
            data = {**base, **admin_form_data(add_page)}
            for name, field in add_page.context["adminform"].form.fields.items():
                if name in ("code", "id_no", "username", "description", "name"):
                    data[name] = f"walk-{name}"
                elif name in ("password1", "password2"):
                    data[name] = "Walk-pass-2026!"
                elif not data.get(name) and field.required:
                    data[name] = _mutated(field, None, name)
            walk.request(f"{label} added", "post", add_url, data, subject=(label, None))
        else:
            walk.request(f"{label} add refused", "post", add_url, base, subject=(label, None))

        obj = model._base_manager.filter(pk=obj.pk).first()
        if obj is None:
            continue
        for action in model_admin.get_actions(request):
            walk.request(
                f"{label} action {action}",
                "post",
                reverse("admin:{}_{}_changelist".format(*info)),
                {"action": action, "_selected_action": [obj.pk], "post": "yes"},
                subject=(label, obj.pk) if action == "delete_selected" else None,
            )
        obj = model._base_manager.filter(pk=obj.pk).first()
        if obj is not None:
            delete_url = reverse("admin:{}_{}_delete".format(*info), args=[obj.pk])
            walk.request(f"{label} deleted", "post", delete_url, {"post": "yes"}, subject=(label, obj.pk))
    user = User.objects.get(username="officer")
    walk.request(
        "user password set",
        "post",
        reverse("admin:auth_user_password_change", args=[user.pk]),
        {"password1": "Walk-pass-2026!", "password2": "Walk-pass-2026!", "usable_password": "true"},
        subject=("loans.user", user.pk),
    )
    assert len(walked) == len(admin.site._registry)
    # The walk did change what the services allow (and saw it audited), not only knock on closed doors.
    assert {"loans.loan", "loans.user", "loans.branch", "loans.borrower", "loans.guarantee", "loans.collateral"} <= (
        walk.audited_changes
    )
