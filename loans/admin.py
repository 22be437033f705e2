"""The Django admin of the loan book and the staff: one more thin interface.

Every admin here is read-only or saves through the services (loans/services): their forms and
actions call `loan_update`, `branch_create`, `user_update`... which check, validate, write and
audit. Nothing is saved by the admin itself (ServiceAdmin refuses what has no service).
"""

from __future__ import annotations

import copy
from functools import partial
from typing import Any

from axes.admin import AccessAttemptAdmin, AccessFailureLogAdmin, AccessLogAdmin
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import GroupAdmin as BaseGroupAdmin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.forms import AdminPasswordChangeForm, AdminUserCreationForm, UserChangeForm
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models, transaction
from django.http import HttpResponseRedirect
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from loans.models import (
    Borrower,
    Branch,
    ClassificationChange,
    ClassificationRun,
    Collateral,
    Guarantee,
    Guarantor,
    ImportBatch,
    Loan,
    User,
)
from loans.resources import LoanBookAdminMixin
from loans.services import (
    borrower_update,
    branch_create,
    branch_update,
    collateral_add,
    collateral_remove,
    collateral_update,
    guarantee_add,
    guarantee_remove,
    guarantee_update,
    guarantor_create,
    guarantor_update,
    loan_update,
    loans_reclassify,
    user_create,
    user_set_password,
    user_unlock,
    user_update,
)
from loans.services.book import (
    BORROWER_FIELDS,
    COLLATERAL_FIELDS,
    GUARANTEE_FIELDS,
    GUARANTOR_FIELDS,
    LOAN_FACT_FIELDS,
)
from loans.services.staff import BRANCH_FIELDS, USER_FIELDS

REMOVED_IN_ADMIN = _("Removed in the Django admin.")
UNLOCKED_IN_ADMIN = _("Unlocked in the Django admin.")


class ScopedAdminMixin:
    """Admin lists go through the same access layer as the app's pages."""

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        return qs.visible_to(request.user) if hasattr(qs, "visible_to") else qs


class ReadOnlyAdminMixin:
    """Shown, never changed here: no add, change or delete (and so no delete action)."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class ReasonForm(forms.ModelForm):
    """Every admin form asks why; the reason goes into the audit row."""

    reason = forms.CharField(
        label=_("Reason"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Kept in the audit trail."),
    )


class ServiceAdmin(ScopedAdminMixin, admin.ModelAdmin):
    """An admin whose forms and deletions call services.

    A subclass overrides `create`, `update` and/or `remove`; whatever it does not override is
    refused (no add button, read-only form, no delete). `update` receives only the fields the
    form changed, among `editable`; everything else is shown read-only.
    """

    form = ReasonForm
    editable: tuple[str, ...] = ()

    def create(self, request, form) -> models.Model:
        raise NotImplementedError

    def update(self, request, obj, changes: dict[str, Any], reason: str) -> models.Model:
        raise NotImplementedError

    def remove(self, request, obj) -> None:
        raise NotImplementedError

    def _offers(self, name: str) -> bool:
        return getattr(type(self), name) is not getattr(ServiceAdmin, name)

    def has_add_permission(self, request, *args) -> bool:
        return self._offers("create") and super().has_add_permission(request, *args)

    def has_change_permission(self, request, obj=None) -> bool:
        return self._offers("update") and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        return self._offers("remove") and super().has_delete_permission(request, obj)

    def get_readonly_fields(self, request, obj=None):
        editable = set(self.add_fields if obj is None else self.editable)
        names = [f.name for f in self.model._meta.get_fields() if f.concrete and not f.auto_created]
        return [name for name in names if name not in editable]

    # Fields of the add form (the change form's `editable` unless a subclass says otherwise).
    @property
    def add_fields(self) -> tuple[str, ...]:
        return self.editable

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except ValidationError as exc:
            # A service refused what the form could not check (its transaction is rolled back).
            self.message_user(request, " ".join(exc.messages), messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())

    def save_model(self, request, obj, form, change) -> None:
        if change:
            changes = {name: form.cleaned_data[name] for name in form.changed_data if name in self.editable}
            saved = self.update(request, obj, changes, form.cleaned_data.get("reason", ""))
        else:
            saved = self.create(request, form)
        # The admin goes on with `obj` (its log entry, message and redirect): make it the saved row.
        obj.pk = saved.pk
        obj._state.adding = False
        obj.refresh_from_db()

    def save_related(self, request, form, formsets, change) -> None:
        # Many-to-many fields were saved by the service; inlines here are read-only.
        for formset in formsets:
            if any(f.has_changed() for f in formset.forms):
                raise PermissionDenied(_("Inline rows are changed on their own admin page."))
            formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []

    def delete_model(self, request, obj) -> None:
        self.remove(request, obj)

    def delete_queryset(self, request, queryset) -> None:
        try:
            with transaction.atomic():
                for obj in queryset:
                    self.remove(request, obj)
        except ValidationError as exc:
            self.message_user(request, " ".join(exc.messages), messages.ERROR)

    def delete_view(self, request, object_id, extra_context=None):
        try:
            return super().delete_view(request, object_id, extra_context)
        except ValidationError as exc:
            self.message_user(request, " ".join(exc.messages), messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())


# --- branches and staff ---------------------------------------------------------------------------


@admin.register(Branch)
class BranchAdmin(ServiceAdmin):
    list_display = ["code", "name", "kind", "parent", "path"]
    list_filter = ["kind"]
    search_fields = ["code", "name"]
    list_select_related = ["parent"]
    editable = BRANCH_FIELDS

    def create(self, request, form) -> Branch:
        data = form.cleaned_data
        return branch_create(
            actor=request.user,
            code=data["code"],
            name=data["name"],
            kind=data["kind"],
            parent=data.get("parent"),
            reason=data.get("reason", ""),
        )

    def update(self, request, obj, changes, reason) -> Branch:
        return branch_update(branch=obj, actor=request.user, reason=reason, **changes)


class StaffChangeForm(UserChangeForm):
    reason = ReasonForm.base_fields["reason"]


class StaffCreationForm(AdminUserCreationForm):
    reason = ReasonForm.base_fields["reason"]


class StaffPasswordForm(AdminPasswordChangeForm):
    """The admin's "change password" form, saved by user_set_password (audited)."""

    def __init__(self, user, *args, actor=None, **kwargs) -> None:
        super().__init__(user, *args, **kwargs)
        self.actor = actor

    def save(self, commit: bool = True) -> User:
        password = self.cleaned_data["password1"] if self.cleaned_data.get("set_usable_password", True) else None
        self.user = user_set_password(user=self.user, actor=self.actor, password=password)
        return self.user


@admin.register(User)
class UserAdmin(ServiceAdmin, BaseUserAdmin):
    list_display = ["username", "first_name", "last_name", "role", "branch", "is_active"]
    list_filter = ["role", "branch", "is_active", "is_staff"]
    search_fields = ["username", "first_name", "last_name", "email", "employee_no"]
    list_select_related = ["branch"]
    form = StaffChangeForm
    add_form = StaffCreationForm
    change_password_form = StaffPasswordForm
    fieldsets = (
        *BaseUserAdmin.fieldsets,
        (_("Bank"), {"fields": ("role", "branch", "employee_no", "phone")}),
        (None, {"fields": ("reason",)}),
    )
    add_fieldsets = (
        *BaseUserAdmin.add_fieldsets,
        (_("Bank"), {"fields": ("first_name", "last_name", "email", "role", "branch")}),
        (None, {"fields": ("reason",)}),
    )
    editable = (*USER_FIELDS, "groups", "user_permissions")
    add_fields = ("username", "first_name", "last_name", "email", "role", "branch")
    actions = ["unlock_logins"]

    def get_readonly_fields(self, request, obj=None):
        # The password has its own form (user_set_password); login dates are the system's.
        return ["last_login", "date_joined"] if obj is not None else []

    def create(self, request, form) -> User:
        data = form.cleaned_data
        return user_create(
            actor=request.user,
            username=data["username"],
            password=data.get("password1") if data.get("set_usable_password", True) else None,
            role=data["role"],
            branch=data.get("branch"),
            first_name=data.get("first_name", ""),
            last_name=data.get("last_name", ""),
            email=data.get("email", ""),
            reason=data.get("reason", ""),
        )

    def update(self, request, obj, changes, reason) -> User:
        return user_update(user=obj, actor=request.user, reason=reason, **changes)

    def user_change_password(self, request, id, form_url=""):
        # The form is built by the base view; bind the acting user to it for this request only.
        bound = copy.copy(self)
        bound.change_password_form = partial(StaffPasswordForm, actor=request.user)
        return BaseUserAdmin.user_change_password(bound, request, id, form_url)

    @admin.action(description=_("Unlock the selected users' logins (clear failed attempts)"))
    def unlock_logins(self, request, queryset) -> None:
        cleared = sum(user_unlock(user=user, actor=request.user, reason=UNLOCKED_IN_ADMIN) for user in queryset)
        self.message_user(
            request, ngettext("%d failed attempt cleared.", "%d failed attempts cleared.", cleared) % cleared
        )


admin.site.unregister(Group)


@admin.register(Group)
class GroupAdmin(ReadOnlyAdminMixin, BaseGroupAdmin):
    """Roles (loans/permissions.py) decide what staff may do; groups are shown, not edited here."""


# django-axes' login records: read-only here; a user is unlocked with the Users list's action (audited).
for _model, _base in (
    (AccessAttempt, AccessAttemptAdmin),
    (AccessLog, AccessLogAdmin),
    (AccessFailureLog, AccessFailureLogAdmin),
):
    if admin.site.is_registered(_model):
        admin.site.unregister(_model)
        admin.site.register(_model, type(_base.__name__, (ReadOnlyAdminMixin, _base), {"actions": []}))


# --- the loan book ---------------------------------------------------------------------------------


@admin.register(Borrower)
class BorrowerAdmin(ServiceAdmin):
    list_display = ["name", "kind", "id_no", "group_code", "phone"]
    list_filter = ["kind"]
    search_fields = ["name", "id_no", "group_code"]
    editable = BORROWER_FIELDS

    def update(self, request, obj, changes, reason) -> Borrower:
        return borrower_update(borrower=obj, actor=request.user, reason=reason, **changes)


class GuaranteeInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = Guarantee
    extra = 0
    fields = ["guarantor", "amount", "signed_on"]
    readonly_fields = fields
    show_change_link = True


class CollateralInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = Collateral
    extra = 0
    fields = ["kind", "description", "appraised_value", "appraised_on", "lien_status"]
    readonly_fields = fields
    show_change_link = True


class ClassificationChangeInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = ClassificationChange
    extra = 0
    fields = ["as_of", "scheme", "from_class", "to_class", "source", "rule", "reason", "actor"]
    readonly_fields = fields
    ordering = ["-as_of", "-id"]


class LoanCorrectionForm(ReasonForm):
    reason = forms.CharField(
        label=_("Reason for the correction"),
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("E.g. the core banking book's figure. Kept in the audit trail."),
    )


@admin.register(Loan)
class LoanAdmin(LoanBookAdminMixin, ServiceAdmin):
    """Loans arrive through the import; here their facts are corrected one by one (loan_update:
    audited, then the loan is reclassified and its provision recomputed)."""

    list_display = [
        "loan_no",
        "borrower",
        "branch",
        "outstanding_principal",
        "overdue_since",
        "five_level_class",
        "four_level_class",
        "responsible_officer",
    ]
    list_filter = ["five_level_class", "four_level_class", "branch", "business_ceased", "government_directed"]
    search_fields = ["loan_no", "borrower__name", "borrower__id_no"]
    list_select_related = ["borrower", "branch", "responsible_officer"]
    date_hierarchy = "disbursed_on"
    form = LoanCorrectionForm
    editable = LOAN_FACT_FIELDS
    inlines = [GuaranteeInline, CollateralInline, ClassificationChangeInline]
    actions = ["reclassify_today"]

    def get_readonly_fields(self, request, obj=None):
        # The import's row digest is bookkeeping of the importer, not a fact of the loan.
        return [name for name in super().get_readonly_fields(request, obj) if name != "import_digest"]

    def update(self, request, obj, changes, reason) -> Loan:
        return loan_update(loan=obj, actor=request.user, as_of=timezone.localdate(), reason=reason, **changes)

    @admin.action(description=_("Reclassify the selected loans as of today"))
    def reclassify_today(self, request, queryset) -> None:
        result = loans_reclassify(
            as_of=timezone.localdate(), actor=request.user, loan_ids=queryset.values_list("pk", flat=True)
        )
        self.message_user(
            request,
            _("Examined %(examined)d loans, %(changed)d changed class.")
            % {"examined": result.examined, "changed": result.changed},
            messages.SUCCESS,
        )


@admin.register(Guarantor)
class GuarantorAdmin(ServiceAdmin):
    list_display = ["name", "kind", "id_no", "borrower"]
    list_filter = ["kind"]
    search_fields = ["name", "id_no"]
    autocomplete_fields = ["borrower"]
    editable = GUARANTOR_FIELDS

    def create(self, request, form) -> Guarantor:
        data = form.cleaned_data
        return guarantor_create(
            actor=request.user,
            reason=data.get("reason", ""),
            **{name: data[name] for name in GUARANTOR_FIELDS if name in data},
        )

    def update(self, request, obj, changes, reason) -> Guarantor:
        return guarantor_update(guarantor=obj, actor=request.user, reason=reason, **changes)


@admin.register(Guarantee)
class GuaranteeAdmin(ServiceAdmin):
    list_display = ["guarantor", "loan", "amount", "signed_on"]
    search_fields = ["guarantor__name", "loan__loan_no"]
    list_select_related = ["guarantor", "loan"]
    autocomplete_fields = ["guarantor", "loan"]
    editable = GUARANTEE_FIELDS
    add_fields = ("loan", "guarantor", *GUARANTEE_FIELDS)

    def create(self, request, form) -> Guarantee:
        data = form.cleaned_data
        return guarantee_add(
            loan=data["loan"],
            guarantor=data["guarantor"],
            amount=data["amount"],
            signed_on=data.get("signed_on"),
            actor=request.user,
            reason=data.get("reason", ""),
        )

    def update(self, request, obj, changes, reason) -> Guarantee:
        return guarantee_update(guarantee=obj, actor=request.user, reason=reason, **changes)

    def remove(self, request, obj) -> None:
        guarantee_remove(guarantee=obj, actor=request.user, reason=REMOVED_IN_ADMIN)


@admin.register(Collateral)
class CollateralAdmin(ServiceAdmin):
    list_display = ["loan", "kind", "description", "appraised_value", "lien_status"]
    list_filter = ["kind", "lien_status"]
    search_fields = ["loan__loan_no", "description"]
    list_select_related = ["loan"]
    autocomplete_fields = ["loan"]
    editable = COLLATERAL_FIELDS
    add_fields = ("loan", *COLLATERAL_FIELDS)

    def create(self, request, form) -> Collateral:
        data = form.cleaned_data
        return collateral_add(
            loan=data["loan"],
            actor=request.user,
            reason=data.get("reason", ""),
            **{name: data[name] for name in COLLATERAL_FIELDS if name in data},
        )

    def update(self, request, obj, changes, reason) -> Collateral:
        return collateral_update(collateral=obj, actor=request.user, reason=reason, **changes)

    def remove(self, request, obj) -> None:
        collateral_remove(collateral=obj, actor=request.user, reason=REMOVED_IN_ADMIN)


# --- history and runs: read-only -------------------------------------------------------------------


@admin.register(ClassificationChange)
class ClassificationChangeAdmin(ReadOnlyAdminMixin, ScopedAdminMixin, admin.ModelAdmin):
    list_display = ["as_of", "loan", "scheme", "from_class", "to_class", "source", "rule", "actor"]
    list_filter = ["scheme", "source", "to_class"]
    search_fields = ["loan__loan_no", "reason"]
    list_select_related = ["loan", "actor"]
    date_hierarchy = "as_of"


@admin.register(ClassificationRun)
class ClassificationRunAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "as_of",
        "whole_book",
        "started_at",
        "finished_at",
        "loans_examined",
        "loans_changed",
        "became_non_performing",
    ]
    list_filter = ["whole_book"]
    date_hierarchy = "as_of"


@admin.register(ImportBatch)
class ImportBatchAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Every import and dry run, read-only: who, when, which file, counts and errors (the rows on
    the app's import page). The record of who imported what is kept."""

    list_display = ["id", "created_at", "created_by", "source", "dry_run", "file_name", "status", "created",
                    "updated", "unchanged", "error_count"]  # fmt: skip
    list_filter = ["status", "source", "dry_run"]
    search_fields = ["file_name", "created_by__username"]
    list_select_related = ["created_by"]
    date_hierarchy = "created_at"
    readonly_fields = [f.name for f in ImportBatch._meta.fields]

    def view_on_site(self, obj):
        return obj.get_absolute_url()
