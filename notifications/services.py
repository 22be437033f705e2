"""Writes of notifications. Every event creates its notifications in its own transaction; the
e-mails go out after commit, from the outbox, so a rolled-back event sends nothing."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from notifications.models import Notification

log = logging.getLogger(__name__)

# Attempts before an e-mail is given up (the in-app notification stays).
MAX_EMAIL_ATTEMPTS = 5


@dataclass(frozen=True)
class NotificationDraft:
    recipient_id: int
    kind: str
    key: str
    title: str
    body: str = ""
    url: str = ""
    email: bool = True

    def build(self, now) -> Notification:
        return Notification(
            recipient_id=self.recipient_id,
            kind=self.kind,
            key=self.key[:200],
            title=self.title[:200],
            body=self.body,
            url=self.url[:500],
            created_at=now,
            email_status=Notification.EmailStatus.PENDING if self.email else Notification.EmailStatus.SKIPPED,
        )


def notifications_send(*, drafts: Iterable[NotificationDraft]) -> int:
    """Create the notifications that do not exist yet (by key); e-mail them after commit.

    Call inside the transaction of the event. Returns how many drafts were handed in.
    """
    now = timezone.now()
    rows = [d.build(now) for d in drafts]
    if not rows:
        return 0
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


def _message_for(n: Notification, recipient_email: str) -> EmailMessage:
    link = f"{settings.SITE_URL.rstrip('/')}{n.url}" if n.url.startswith("/") else n.url
    body = n.body.strip()
    text = f"{body}\n\n{link}\n" if link else f"{body}\n"
    return EmailMessage(
        subject=f"[NPL Recovery] {n.title}",
        body=text,
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
                    connection.send_messages([_message_for(n, n.recipient.email) for n in to_send])
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
