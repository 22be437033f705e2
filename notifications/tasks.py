from __future__ import annotations

from celery import shared_task
from django.db import InterfaceError, OperationalError

from notifications.services import EmailDeliveryFailed, notifications_send_pending_emails


@shared_task(
    bind=True,
    autoretry_for=(OperationalError, InterfaceError, EmailDeliveryFailed, ConnectionError, TimeoutError),
    retry_backoff=30,
    retry_backoff_max=1800,
    retry_jitter=True,
    max_retries=8,
    acks_late=True,
)
def send_pending_emails(self) -> int:
    """Send every notification e-mail still waiting. Queued on commit and swept by beat."""
    return notifications_send_pending_emails()
