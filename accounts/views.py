"""The user's own account: change the password; enrol and give the two-factor code. Thin: the
services write, accounts/two_factor.py decides who needs a code."""

from __future__ import annotations

from base64 import b32encode

import segno
from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice, default_key

from accounts.forms import CodeForm, PasswordChangeForm
from accounts.services import WRONG_CODE, totp_enrol, totp_verify
from accounts.services import password_change as password_change_service
from accounts.two_factor import has_device

# The key shown to a user who is enrolling, kept in their session until they confirm it.
PENDING_KEY = "npl_totp_pending_key"


def _form_errors(form, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


def _next(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target.startswith("/") and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return "/"


@login_required
def password_change(request: HttpRequest) -> HttpResponse:
    form = PasswordChangeForm(request.POST or None)
    directory = not request.user.has_usable_password()
    if request.method == "POST" and not directory and form.is_valid():
        try:
            password_change_service(
                actor=request.user,
                old_password=form.cleaned_data["old_password"],
                new_password=form.cleaned_data["new_password1"],
            )
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            # This session stays logged in; the others (with the old password's hash) are logged out.
            update_session_auth_hash(request, request.user)
            messages.success(request, _("Password changed. Your other sessions are logged out."))
            return redirect("home")
    return render(
        request,
        "accounts/password_change.html",
        {"form": form, "directory": directory},
        status=400 if request.method == "POST" else 200,
    )


@login_required
def two_factor_setup(request: HttpRequest) -> HttpResponse:
    """Enrol an authenticator app: scan the QR code (or type the key), then give the code it shows."""
    if has_device(request.user) and not request.user.is_verified():
        return redirect(f"{reverse('accounts:two_factor_verify')}?{urlencode({'next': _next(request)})}")
    key = request.session.get(PENDING_KEY)
    if not key:
        key = request.session[PENDING_KEY] = default_key()
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            device = totp_enrol(actor=request.user, key=key, token=form.cleaned_data["token"])
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            request.session.pop(PENDING_KEY, None)
            otp_login(request, device)
            messages.success(request, _("Two-factor login is on for your account."))
            return redirect(_next(request))
    device = TOTPDevice(user=request.user, key=key)
    context = {
        "form": form,
        # An inline SVG drawn on the server (segno): no image service, nothing from another site.
        "qr_svg": mark_safe(segno.make(device.config_url, error="m").svg_inline(scale=5)),  # noqa: S308
        "secret": b32encode(device.bin_key).decode(),
        "next": _next(request),
    }
    return render(request, "accounts/two_factor_setup.html", context, status=400 if request.method == "POST" else 200)


@login_required
def two_factor_verify(request: HttpRequest) -> HttpResponse:
    """The code after the password."""
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        device = totp_verify(actor=request.user, token=form.cleaned_data["token"])
        if device is not None:
            otp_login(request, device)
            return redirect(_next(request))
        form.add_error("token", WRONG_CODE)
    return render(
        request,
        "accounts/two_factor_verify.html",
        {"form": form, "next": _next(request)},
        status=400 if request.method == "POST" else 200,
    )
