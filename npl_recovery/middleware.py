"""Project-wide middleware: request size, per-user limits (security review, findings 2 and 7)."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string

from loans.importing.limits import upload_refusal
from npl_recovery.errors import TooManyRequests

# Room for the form's other fields and the multipart headers around a file of the largest size.
REQUEST_OVERHEAD_BYTES = 1024 * 1024


class RequestSizeLimitMiddleware:
    """Refuse a request whose body is larger than an upload may be, before anything reads it (the
    CSRF check would read it first). Goes before CsrfViewMiddleware. The reverse proxy refuses far
    larger bodies itself (client_max_body_size); the forms refuse a file over the limit."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > settings.NPL_UPLOAD_MAX_BYTES + REQUEST_OVERHEAD_BYTES:
            message = upload_refusal(length)
            body = render_to_string("413.html", {"message": message}, request=None)
            response = HttpResponse(body, status=413)
            response["Connection"] = "close"  # the body is not read
            return response
        return self.get_response(request)


class TooManyRequestsMiddleware:
    """A per-user limit reached anywhere (a page, the admin) is a 429 page with the limit's message
    and a Retry-After header."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, TooManyRequests):
            return None
        response = render(request, "429.html", {"message": exception.message}, status=429)
        response["Retry-After"] = str(exception.retry_after_seconds)
        return response
