"""Two-factor login (TOTP, django-otp) for the roles named in NPL_2FA_ROLES.

Who needs it is decided here, once: the middleware, the login flow and the pages ask
`two_factor_required`. With NPL_2FA_ROLES empty (the default) nobody is asked for a code.
"""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import Resolver404, resolve, reverse
from django.utils.http import urlencode
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

# Pages an account that still owes its code may open: the code pages themselves, and the ways out.
OPEN_BEFORE_THE_CODE = frozenset(
    {"accounts:two_factor_setup", "accounts:two_factor_verify", "login", "logout", "admin:login", "admin:logout"}
)


def two_factor_roles() -> frozenset[str]:
    roles = settings.NPL_2FA_ROLES
    if isinstance(roles, str):
        roles = roles.split(",")
    return frozenset(r.strip() for r in roles if r.strip())


def two_factor_required(user: Any) -> bool:
    """Whether this user must give a one-time code after the password (their role is listed)."""
    roles = two_factor_roles()
    if not roles or not getattr(user, "is_authenticated", False):
        return False
    return getattr(user, "role", None) in roles or (bool(user.is_superuser) and "admin" in roles)


def two_factor_pending(user: Any) -> bool:
    """Logged in with the password, the code still to come: only the code pages open."""
    if not two_factor_required(user):
        return False
    is_verified = getattr(user, "is_verified", None)  # set by django-otp's OTPMiddleware
    return not (is_verified and is_verified())


def has_device(user: Any) -> bool:
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def code_matches(device: TOTPDevice, token: str) -> bool:
    """Whether `token` is the device's current code (or the one before or after: clocks drift).

    Checks without saving anything; on a match it moves the device's last used step forward so
    the same code is not accepted twice.
    """
    token = (token or "").strip().replace(" ", "")
    if not token.isdigit() or len(token) != device.digits:
        return False
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time()
    if not totp.verify(int(token), device.tolerance, device.last_t + 1):
        return False
    device.last_t = totp.t()
    return True


class TwoFactorMiddleware:
    """After the password, an account that needs a second factor opens nothing but the code pages
    until it has given its code (enrolling first if it has no device yet)."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and two_factor_pending(user) and not self._open(request):
            target = "accounts:two_factor_verify" if has_device(user) else "accounts:two_factor_setup"
            url = f"{reverse(target)}?{urlencode({'next': request.get_full_path()})}"
            if request.headers.get("HX-Request"):
                return HttpResponse(status=204, headers={"HX-Redirect": url})
            return redirect(url)
        return self.get_response(request)

    @staticmethod
    def _open(request: HttpRequest) -> bool:
        try:
            return resolve(request.path_info).view_name in OPEN_BEFORE_THE_CODE
        except Resolver404:
            return False
