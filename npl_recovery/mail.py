"""The e-mail backend of a production process without a mail server (EMAIL_BACKEND's default when
DEBUG is off): nothing is sent, and the log says which e-mails were not -- their ids only. Django's
console backend would write each message whole (who it is to, the borrower's name and ID number,
the amounts) into the worker's log."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from django.core.mail.backends.base import BaseEmailBackend
from django.core.mail.message import EmailMessage

logger = logging.getLogger(__name__)

NOTIFICATION_HEADER = "X-NPL-Notification"


class LogIdsEmailBackend(BaseEmailBackend):
    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        for message in email_messages:
            notification = message.extra_headers.get(NOTIFICATION_HEADER, "-")
            logger.info(
                "e-mail for notification %s to %d recipient(s) not sent: no mail server is configured (EMAIL_*)",
                notification,
                len(message.recipients()),
            )
        return len(email_messages)
