"""Logging filters (settings.LOGGING)."""

from __future__ import annotations

import logging


class ForbiddenInOneLine(logging.Filter):
    """django.request logs every refused request (PermissionDenied, status 403) with the exception's
    full traceback: a refusal is the access rules working, not an error, and a page of traceback per
    refusal buries the real errors. One line instead: the path and the reason."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "status_code", None) == 403 and record.exc_info:
            reason = str(record.exc_info[1] or "")
            message = record.getMessage()
            record.msg = f"{message} ({reason})" if reason else message
            record.args = ()
            record.exc_info = None
            record.exc_text = None
        return True
