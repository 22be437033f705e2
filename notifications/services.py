"""Writes of notifications. Every event creates its notifications in its own transaction; the
e-mails go out after commit, from the outbox, so a rolled-back event sends nothing.

Each notification is written in its recipient's language (their saved choice, else LANGUAGE_CODE):
a draft's title and body may be lazy texts (`text(_("Loan %(no)s ..."), no=...)`), rendered
per recipient when the notification is created; the e-mail's frame is in the same language.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db import transaction
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.functional import Promise, lazy
from django.utils.translation import gettext

from notifications.models import Notification
from npl_recovery.i18n import format_amount, format_day

log = logging.getLogger(__name__)

# Attempts before an e-mail is given up (the in-app notification stays).
MAX_EMAIL_ATTEMPTS = 5


def _shown(value: Any) -> Any:
    """A placeholder's value in the active language: dates short, money grouped, lazy texts rendered."""
    if isinstance(value, Promise):
        return str(value)
    if isinstance(value, date) and not isinstance(value, datetime):
        return format_day(value, short=True)
    if isinstance(value, Decimal):
        return format_amount(value)
    return value


def _render(message: Any, values: dict[str, Any]) -> str:
    return message % {k: _shown(v) for k, v in values.items()} if values else str(message)


_lazy_render = lazy(_render, str)


def text(message: Any, **values: Any) -> Any:
    """A sentence with named placeholders, translated and filled only when rendered, i.e. in the
    language of the recipient it is rendered for (never joined from fragments)."""
    return _lazy_render(message, values)


def _languages(recipient_ids: set[int]) -> dict[int, str]:
    from django.contrib.auth import get_user_model

    rows = get_user_model().objects.filter(pk__in=recipient_ids).values_list("pk", "language")
    return {pk: language or settings.LANGUAGE_CODE for pk, language in rows}


@dataclass(frozen=True)
class NotificationDraft:
    recipient_id: int
    kind: str
    key: str
    title: Any  # str, or a lazy text rendered in the recipient's language
    body: Any = ""
    url: str = ""
    email: bool = True

    def build(self, now, language: str | None = None) -> Notification:
        with translation.override(language or settings.LANGUAGE_CODE):
            title, body = str(self.title), str(self.body)
        return Notification(
            recipient_id=self.recipient_id,
            kind=self.kind,
            key=self.key[:200],
            title=title[:200],
            body=body,
            url=self.url[:500],
            created_at=now,
            email_status=Notification.EmailStatus.PENDING if self.email else Notification.EmailStatus.SKIPPED,
        )


def notifications_send(*, drafts: Iterable[NotificationDraft]) -> int:
    """Create the notifications that do not exist yet (by key); e-mail them after commit.

    Call inside the transaction of the event. Returns how many drafts were handed in.
    """
    now = timezone.now()
    drafts = list(drafts)
    if not drafts:
        return 0
    lazy_ones = {d.recipient_id for d in drafts if isinstance(d.title, Promise) or isinstance(d.body, Promise)}
    languages = _languages(lazy_ones) if lazy_ones else {}
    rows = [d.build(now, languages.get(d.recipient_id)) for d in drafts]
    Notification.objects.bulk_create(rows, ignore_conflicts=True, batch_size=1000)
    if any(r.email_status == Notification.EmailStatus.PENDING for r in rows):
        transaction.on_commit(_queue_outbox)
    return len(rows)


def notification_send(
    *, recipient: Any, kind: str, key: str, title: str, body: str = "", url: str = "", email: bool = True
) -> None:
    notifications_send(
        drafts=[
            NotificationDraft(
                recipient_id=recipient.pk, kind=kind, key=key, title=title, body=body, url=url, email=email
            )
        ]
    )


def _queue_outbox() -> None:
    from notifications.tasks import send_pending_emails

    try:
        send_pending_emails.delay()
    except Exception:  # the beat sweep sends it later; the event itself is committed
        log.warning("could not queue the e-mail outbox; the periodic sweep will send it", exc_info=True)


def notification_mark_read(*, notification: Notification, actor: Any) -> bool:
    """Mark one of the actor's notifications read. False when it was read already."""
    return bool(
        Notification.objects.visible_to(actor)
        .filter(pk=notification.pk, read_at__isnull=True)
        .update(read_at=timezone.now())
    )


def notifications_mark_all_read(*, actor: Any) -> int:
    return Notification.objects.visible_to(actor).unread().update(read_at=timezone.now())


def _message_for(n: Notification, recipient_email: str, language: str = "") -> EmailMessage:
    """The e-mail of a notification, its frame in the recipient's language (the title and body
    were written in it)."""
    link = f"{settings.SITE_URL.rstrip('/')}{n.url}" if n.url.startswith("/") else n.url
    body = n.body.strip()
    with translation.override(language or settings.LANGUAGE_CODE):
        subject = gettext("[NPL Recovery] %(title)s") % {"title": n.title}
        footer = gettext("Open it in NPL Recovery: %(link)s") % {"link": link} if link else ""
    content = f"{body}\n\n{footer}\n" if footer else f"{body}\n"
    return EmailMessage(
        subject=subject,
        body=content,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[recipient_email],
        # What a log may say about the message (npl_recovery/mail.py): its notification's id.
        headers={"X-NPL-Notification": str(n.pk)},
    )


class EmailDeliveryFailed(Exception):
    """The mail server refused or was unreachable; the rows stay pending for the retry."""


def notifications_send_pending_emails(*, batch_size: int = 50, max_batches: int | None = None) -> int:
    """Send the outbox: claim pending rows (skip rows another worker holds), send, mark. Returns sent.

    Each batch is its own transaction; the row locks keep two workers from sending the same
    notification. A failed delivery stays pending (the task retries with backoff) until it has
    been tried MAX_EMAIL_ATTEMPTS times.
    """
    sent = 0
    batches = 0
    last_id = 0
    # Nobody to e-mail (no address, or left the bank): settled in one statement, not row by row.
    Notification.objects.filter(email_status=Notification.EmailStatus.PENDING).filter(
        Q(recipient__email="") | Q(recipient__is_active=False)
    ).update(email_status=Notification.EmailStatus.SKIPPED)
    while max_batches is None or batches < max_batches:
        batches += 1
        failed: list[int] = []
        with transaction.atomic():
            claimed = list(
                Notification.objects.select_for_update(skip_locked=True, of=("self",))
                .filter(email_status=Notification.EmailStatus.PENDING, pk__gt=last_id)
                .select_related("recipient")
                .order_by("pk")[:batch_size]
            )
            if not claimed:
                break
            last_id = claimed[-1].pk
            to_send = [n for n in claimed if n.recipient.email and n.recipient.is_active]
            skipped = [n.pk for n in claimed if n not in to_send]
            if skipped:
                Notification.objects.filter(pk__in=skipped).update(email_status=Notification.EmailStatus.SKIPPED)
            if not to_send:
                continue
            try:
                with get_connection() as connection:
                    connection.send_messages(
                        [_message_for(n, n.recipient.email, n.recipient.language) for n in to_send]
                    )
            except Exception:
                log.warning("e-mail delivery failed for %d notifications", len(to_send), exc_info=True)
                for n in to_send:
                    n.email_attempts += 1
                    if n.email_attempts >= MAX_EMAIL_ATTEMPTS:
                        n.email_status = Notification.EmailStatus.FAILED
                Notification.objects.bulk_update(to_send, ["email_attempts", "email_status"])
                failed = [n.pk for n in to_send]
            else:
                Notification.objects.filter(pk__in=[n.pk for n in to_send]).update(
                    email_status=Notification.EmailStatus.SENT, emailed_at=timezone.now()
                )
                sent += len(to_send)
        if failed:
            # The attempt counts are committed; the task retries the rest later with backoff.
            raise EmailDeliveryFailed(f"{len(failed)} e-mails could not be delivered")
    return sent
