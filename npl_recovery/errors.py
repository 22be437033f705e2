"""Errors that views, admin and services raise and one middleware turns into a page."""

from __future__ import annotations


class TooManyRequests(Exception):
    """A per-user limit is reached (status 429, npl_recovery.middleware.TooManyRequestsMiddleware).
    The message says which limit and when the user may try again."""

    def __init__(self, message: str, *, retry_after_seconds: int) -> None:
        super().__init__(message)
        self.message = message
        self.retry_after_seconds = max(1, int(retry_after_seconds))
