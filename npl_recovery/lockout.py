"""The login lockout (django-axes, security review finding 3): who is counted, and what a locked-out
user sees. Failures count per account and per account and address (settings AXES_LOCKOUT_PARAMETERS),
never per address alone: everyone at a bank may come from one load balancer's address."""

from __future__ import annotations

from django.conf import settings
from django.db.models import Max
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone


def client_ip(request: HttpRequest) -> str | None:
    """The client's address: the reverse proxy's header when NPL_CLIENT_IP_HEADER names one (the
    proxy sets it; gunicorn is not reachable except through it), else the connection's."""
    header = settings.NPL_CLIENT_IP_HEADER
    if header and request.META.get(header):
        return request.META[header].split(",")[0].strip()
    return request.META.get("REMOTE_ADDR")


def lockout_response(request: HttpRequest, original_response: HttpResponse | None = None, credentials=None):
    """The page a locked-out user gets (status 429), saying when they may try again: the cool-off
    runs from the account's last failed attempt (a failed attempt while locked starts it again)."""
    from axes.helpers import get_client_username, get_cool_off
    from axes.models import AccessAttempt

    username = get_client_username(request, credentials) or ""
    last = AccessAttempt.objects.filter(username=username).aggregate(last=Max("attempt_time"))["last"]
    cool_off = get_cool_off(request)
    try_again = timezone.localtime((last or timezone.now()) + cool_off) if cool_off else None
    context = {"username": username, "try_again": try_again, "cool_off_minutes": int(cool_off.total_seconds() // 60)}
    return render(request, "registration/locked_out.html", context, status=settings.AXES_HTTP_RESPONSE_CODE)
