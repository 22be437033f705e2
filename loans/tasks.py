from __future__ import annotations

from datetime import date

from celery import shared_task
from django.db import OperationalError

from loans.importing.services import import_batch_claim, import_batch_run
from loans.models import User
from loans.services import loans_reclassify


@shared_task(
    bind=True,
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    retry_backoff_max=300,
    max_retries=5,
    acks_late=True,
)
def reclassify_book(self, as_of: str, actor_id: int | None = None) -> dict:
    """Classify the whole book as of a date (ISO string). Idempotent: safe to run twice."""
    actor = User.objects.filter(pk=actor_id).first() if actor_id else None
    result = loans_reclassify(as_of=date.fromisoformat(as_of), actor=actor)
    return {"examined": result.examined, "changed": result.changed}


@shared_task(bind=True, acks_late=True, ignore_result=True)
def import_loan_book(self, batch_id: int) -> dict:
    """Run a queued import batch (uploaded on the import page). Idempotent: a batch already taken
    by another worker, or finished, is left alone."""
    batch = import_batch_claim(batch_id=batch_id)
    if batch is None:
        return {"batch": batch_id, "skipped": True}
    outcome = import_batch_run(batch=batch)
    return {"batch": batch_id, "status": outcome.batch.status}
