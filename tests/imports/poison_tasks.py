"""A task for the real-worker tests that kills its own worker process, as the XLSX bomb used to
(loaded by the test worker with --include). It uses the import task's base class, so what
happens to its batch is what happens to a real import whose worker keeps dying."""

from __future__ import annotations

import os
import signal

from celery import shared_task

from loans.tasks import ImportTask


@shared_task(bind=True, base=ImportTask, name="tests.import_that_kills_its_worker", acks_late=True)
def import_that_kills_its_worker(self, batch_id: int, trace: str) -> None:
    with open(trace, "a") as out:
        out.write(f"{os.getpid()}\n")
    os.kill(os.getpid(), signal.SIGKILL)
