"""Small views of the project itself (not of one app)."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from loans.services import user_language_set
from npl_recovery.i18n import supported


@require_POST
def language_set(request: HttpRequest) -> HttpResponse:
    """The header's language switch: remembered on the account (and in a cookie for the login page)."""
    code = supported(request.POST.get("language"))
    target = request.POST.get("next") or "/"
    if not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        target = "/"
    response = HttpResponseRedirect(target)
    if code:
        if request.user.is_authenticated:
            user_language_set(user=request.user, language=code, actor=request.user)
        response.set_cookie(
            settings.LANGUAGE_COOKIE_NAME,
            code,
            max_age=365 * 24 * 3600,
            samesite="Lax",
            secure=settings.SESSION_COOKIE_SECURE,
        )
    return response
