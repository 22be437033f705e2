"""Idle sessions end (security review, finding 8): a session expires NPL_SESSION_IDLE_MINUTES
(SESSION_COOKIE_AGE) after it was last saved, and the middleware saves it again as the user
works -- at most once a minute, so a page does not cost a database write per request. Requests
the page makes by itself (the notification bell's poll, NPL_SESSION_IDLE_EXEMPT_VIEWS) are not
the user working: a page left open still times out."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse

TOUCHED = "_npl_touched"
TOUCH_EVERY_SECONDS = 60


@receiver(user_logged_in, dispatch_uid="npl_session_touched_at_login")
def _touched_at_login(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    # Logging in saves the session: its expiry starts now.
    if request is not None and hasattr(request, "session"):
        request.session[TOUCHED] = int(time.time())


class IdleSessionMiddleware:
    """After AuthenticationMiddleware: a signed-in user's request moves the session's expiry on."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return response
        match = getattr(request, "resolver_match", None)
        if match is not None and match.view_name in settings.NPL_SESSION_IDLE_EXEMPT_VIEWS:
            return response
        now = int(time.time())
        if now - request.session.get(TOUCHED, 0) >= TOUCH_EVERY_SECONDS:
            # A changed session is saved by SessionMiddleware, with a new expiry and cookie.
            request.session[TOUCHED] = now
        return response
