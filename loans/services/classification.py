"""Classification of the loan book: the daily run over the whole book, one loan on demand, a manager's
judgement."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.utils import timezone

from audit.services import audit_record, audit_system_run
from loans.classification import (
    NON_PERFORMING_FIVE,
    Classification,
    FiveLevel,
    LoanFacts,
    classify,
    is_better_five,
    specific_provision,
)
from loans.models import ClassificationChange, ClassificationRun, Loan, User
from loans.permissions import role_allows
from loans.policy import classification_policy
from loans.signals import loans_reclassified
from npl_recovery.db import analyze_after_bulk_write, filter_ids

# The columns classification reads, in this order (see _facts_from_row).
_FACT_COLUMNS = (
    "id",
    "overdue_since",
    "restructured_on",
    "business_ceased",
    "written_off_on",
    "five_level_class",
    "four_level_class",
    "manual_five_level_class",
    "arrears_cleared_on",
    "outstanding_principal",
    "specific_provision",
    "five_level_rule",
    "four_level_rule",
    "maturity_on",
    "interest_on_balance",
    "interest_off_balance",
)


def _facts_from_row(row: Sequence[Any]) -> LoanFacts:
    return LoanFacts(
        overdue_since=row[1],
        restructured_on=row[2],
        business_ceased=row[3],
        written_off=row[4] is not None,
        current_five_level=row[5],
        manual_five_level=row[7] or None,
        arrears_cleared_on=row[8],
        maturity_on=row[13],
        balance=row[9] + row[14] + row[15],
    )


def loan_facts(loan: Loan) -> LoanFacts:
    return _facts_from_row([getattr(loan, c) for c in _FACT_COLUMNS])


def loan_classification(*, loan: Loan, as_of: date) -> Classification:
    """What the rules say about this loan today (for display; writes nothing)."""
    return classify(loan_facts(loan), as_of, classification_policy())


@dataclass
class _Change:
    loan_id: int
    old_five: str
    new_five: str
    old_four: str
    new_four: str
    five_rule: str
    four_rule: str
    five_reason: str
    four_reason: str
    provision: Decimal
    # What we read, so the write only lands if nobody changed the row in between.
    old_five_rule: str
    old_four_rule: str
    old_provision: Decimal
    outstanding: Decimal


@dataclass
class ReclassifyResult:
    as_of: date
    examined: int = 0
    changed: int = 0
    became_non_performing: list[int] = field(default_factory=list)
    left_non_performing: list[int] = field(default_factory=list)
    # Loans whose class changed under either scheme (the collection app opens cases under full
    # caliber and refreshes the emphasis of open cases from these).
    class_changed: list[int] = field(default_factory=list)
    seconds: float = 0.0


def _change_for(row: Sequence[Any], as_of: date) -> _Change | None:
    policy = classification_policy()
    result = classify(_facts_from_row(row), as_of, policy)
    provision = specific_provision(result.five_level, row[9], policy)
    if (
        result.five_level == row[5]
        and result.four_level == row[6]
        and result.five_level_rule == row[11]
        and result.four_level_rule == row[12]
        and provision == row[10]
    ):
        return None
    return _Change(
        loan_id=row[0],
        old_five=row[5],
        new_five=result.five_level.value,
        old_four=row[6],
        new_four=result.four_level.value,
        five_rule=result.five_level_rule,
        four_rule=result.four_level_rule,
        five_reason=result.five_level_reason[:500],
        four_reason=result.four_level_reason[:500],
        provision=provision,
        old_five_rule=row[11],
        old_four_rule=row[12],
        old_provision=row[10],
        outstanding=row[9],
    )


# A per-connection scratch table, emptied at every commit: COPY is the cheapest way to hand
# PostgreSQL a batch (binary adaptation of 14 arrays cost twice as much).
_PG_BATCH_TABLE = """
CREATE TEMP TABLE IF NOT EXISTS reclassify_batch (
    id bigint, old_five text, new_five text, old_four text, new_four text, five_rule text,
    four_rule text, five_reason text, four_reason text, provision numeric, old_five_rule text,
    old_four_rule text, old_provision numeric, outstanding numeric
) ON COMMIT DELETE ROWS
"""
_PG_BATCH_COLUMNS = (
    "loan_id",
    "old_five",
    "new_five",
    "old_four",
    "new_four",
    "five_rule",
    "four_rule",
    "five_reason",
    "four_reason",
    "provision",
    "old_five_rule",
    "old_four_rule",
    "old_provision",
    "outstanding",
)
_PG_APPLY = """
WITH upd AS (
    UPDATE loans_loan l
       SET five_level_class = v.new_five, four_level_class = v.new_four,
           five_level_rule = v.five_rule, four_level_rule = v.four_rule,
           specific_provision = v.provision, updated_at = %(now)s
      FROM reclassify_batch v
     WHERE l.id = v.id
       -- conditional: a row someone else changed since we read it is left for the next run
       AND l.five_level_class = v.old_five AND l.four_level_class = v.old_four
       AND l.five_level_rule = v.old_five_rule AND l.four_level_rule = v.old_four_rule
       AND l.specific_provision = v.old_provision AND l.outstanding_principal = v.outstanding
    RETURNING l.id
), hist AS (
    INSERT INTO loans_classificationchange
        (loan_id, scheme, from_class, to_class, source, rule, reason, actor_id, as_of, created_at)
    SELECT v.id, 'five_level', v.old_five, v.new_five, 'rule', v.five_rule, v.five_reason,
           %(actor)s::bigint, %(as_of)s::date, %(now)s::timestamptz
      FROM reclassify_batch v JOIN upd ON upd.id = v.id WHERE v.old_five <> v.new_five
    UNION ALL
    SELECT v.id, 'four_level', v.old_four, v.new_four, 'rule', v.four_rule, v.four_reason,
           %(actor)s::bigint, %(as_of)s::date, %(now)s::timestamptz
      FROM reclassify_batch v JOIN upd ON upd.id = v.id WHERE v.old_four <> v.new_four
    RETURNING id
), h AS MATERIALIZED (
    -- computed once: as a subquery the planner (which expects one updated loan) ran the aggregate
    -- again for every updated loan, reading all the batch's history rows each time (quadratic)
    SELECT min(id) AS first_id, max(id) AS last_id, count(*) AS n FROM hist
)
-- the updated loans, each with the id range and count of the history rows written (for the audit)
SELECT upd.id, h.first_id, h.last_id, h.n FROM upd CROSS JOIN h
"""


@dataclass
class _History:
    """The classification history rows a run wrote: their id range and count."""

    first_id: int | None = None
    last_id: int | None = None
    count: int = 0
    # The background writers add their batches' rows at once.
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def add(self, first_id: int | None, last_id: int | None, count: int) -> None:
        if not count:
            return
        with self._lock:
            self.first_id = first_id if self.first_id is None else min(self.first_id, first_id)
            self.last_id = last_id if self.last_id is None else max(self.last_id, last_id)
            self.count += count


def _apply_changes(
    changes: list[_Change], *, as_of: date, actor_id: int | None, history: _History | None = None
) -> set[int]:
    """Write a batch of changes set-based; returns the ids actually updated (and adds the history
    rows written to `history`)."""
    if not changes:
        return set()
    history = history if history is not None else _History()
    now = timezone.now()
    if connection.vendor == "postgresql":
        # The scratch table empties on commit: this must run inside the batch's transaction.
        assert connection.in_atomic_block, "_apply_changes runs inside transaction.atomic()"
        with connection.cursor() as cursor:
            cursor.execute(_PG_BATCH_TABLE)
            with cursor.cursor.copy("COPY reclassify_batch FROM STDIN") as copy:
                for c in changes:
                    copy.write_row([getattr(c, name) for name in _PG_BATCH_COLUMNS])
            cursor.execute(_PG_APPLY, {"actor": actor_id, "as_of": as_of, "now": now})
            rows = cursor.fetchall()
            updated = {row[0] for row in rows}
            if rows:
                history.add(*rows[0][1:])
            cursor.execute("TRUNCATE reclassify_batch")
            return updated
    # Portable fallback (SQLite, the embedded default): a conditional update per changed row.
    updated: set[int] = set()
    rows: list[ClassificationChange] = []
    for c in changes:
        n = Loan.objects.filter(
            pk=c.loan_id,
            five_level_class=c.old_five,
            four_level_class=c.old_four,
            five_level_rule=c.old_five_rule,
            four_level_rule=c.old_four_rule,
            specific_provision=c.old_provision,
            outstanding_principal=c.outstanding,
        ).update(
            five_level_class=c.new_five,
            four_level_class=c.new_four,
            five_level_rule=c.five_rule,
            four_level_rule=c.four_rule,
            specific_provision=c.provision,
            updated_at=now,
        )
        if not n:
            continue
        updated.add(c.loan_id)
        for scheme, old, new, rule, reason in (
            (ClassificationChange.Scheme.FIVE_LEVEL, c.old_five, c.new_five, c.five_rule, c.five_reason),
            (ClassificationChange.Scheme.FOUR_LEVEL, c.old_four, c.new_four, c.four_rule, c.four_reason),
        ):
            if old != new:
                rows.append(
                    ClassificationChange(
                        loan_id=c.loan_id,
                        scheme=scheme,
                        from_class=old,
                        to_class=new,
                        source=ClassificationChange.Source.RULE,
                        rule=rule,
                        reason=reason,
                        actor_id=actor_id,
                        as_of=as_of,
                    )
                )
    written = ClassificationChange.objects.bulk_create(rows, batch_size=1000)
    if written:
        ids = [row.pk for row in written]
        history.add(min(ids), max(ids), len(ids))
    return updated


def _npl_moves(changes: Iterable[_Change], updated: set[int], result: ReclassifyResult) -> None:
    for c in changes:
        if c.loan_id not in updated:
            continue
        was, now = c.old_five in NON_PERFORMING_FIVE, c.new_five in NON_PERFORMING_FIVE
        if now and not was:
            result.became_non_performing.append(c.loan_id)
        elif was and not now:
            result.left_non_performing.append(c.loan_id)
        if c.old_five != c.new_five or c.old_four != c.new_four:
            result.class_changed.append(c.loan_id)


def _announce(result: ReclassifyResult, actor: User | None) -> None:
    if result.became_non_performing or result.left_non_performing or result.class_changed:
        became, left = list(result.became_non_performing), list(result.left_non_performing)
        changed = list(result.class_changed)
        transaction.on_commit(
            lambda: loans_reclassified.send(
                sender=Loan,
                as_of=result.as_of,
                actor=actor,
                became_non_performing=became,
                left_non_performing=left,
                class_changed=changed,
            )
        )


class _BackgroundWriter:
    """Runs `write(batch)` in `threads` threads, each with its own connection and transactions, the
    batches taken in submission order; errors come back on submit/finish. The batches hold other
    loans, so two writers never want the same row."""

    def __init__(self, write: Any, threads: int = 1) -> None:
        self._write = write
        self._queue: queue.Queue = queue.Queue(maxsize=2 * threads)
        self._error: BaseException | None = None
        self._threads = [
            threading.Thread(target=self._work, name=f"reclassify-writer-{i}", daemon=True) for i in range(threads)
        ]
        for thread in self._threads:
            thread.start()

    def _work(self) -> None:
        try:
            while (batch := self._queue.get()) is not None:
                if self._error is None:
                    try:
                        self._write(batch)
                    except BaseException as exc:  # handed back to the submitting thread
                        self._error = exc
        finally:
            connection.close()

    def submit(self, batch: list) -> None:
        if self._error is not None:
            raise self._error
        self._queue.put(batch)

    def finish(self) -> None:
        for _ in self._threads:
            self._queue.put(None)
        for thread in self._threads:
            thread.join()
        if self._error is not None:
            raise self._error


def loans_reclassify(
    *,
    as_of: date,
    actor: User | None = None,
    loan_ids: Iterable[int] | None = None,
    batch_size: int = 5000,
) -> ReclassifyResult:
    """Classify the whole book (or the given loans) as of a date, in batches.

    Each batch reads the facts with one keyset query, classifies in Python (the pure rules)
    and writes only what changed with one set-based statement, in its own transaction.
    Idempotent and safe to run twice at once: the write is conditional on what was read.
    """
    started = time.perf_counter()
    result = ReclassifyResult(as_of=as_of)
    run = ClassificationRun.objects.create(as_of=as_of, actor=actor) if loan_ids is None else None
    base = Loan.objects.all()
    if loan_ids is not None:
        base = filter_ids(base, "pk", loan_ids)
    actor_id = getattr(actor, "pk", None)

    history = _History()

    counted = threading.Lock()

    def write(changes: list[_Change]) -> None:
        with transaction.atomic():
            updated = _apply_changes(changes, as_of=as_of, actor_id=actor_id, history=history)
            batch = ReclassifyResult(as_of=as_of)
            _npl_moves(changes, updated, batch)
            _announce(batch, actor)
        with counted:
            result.changed += len(updated)
            result.became_non_performing += batch.became_non_performing
            result.left_non_performing += batch.left_non_performing
            result.class_changed += batch.class_changed

    # On PostgreSQL, outside a caller's transaction, writer threads (each with its own connection)
    # write batches k and k+1 while this one reads and classifies batch k+2: a batch's write (its
    # UPDATE and history, then on commit the cases it opens) is most of the time, and two of them
    # keep PostgreSQL busy on both cores while this thread mostly waits.
    pipelined = connection.vendor == "postgresql" and not connection.in_atomic_block and loan_ids is None
    # Writer threads (each holds a database connection while it runs): settings.NPL_RECLASSIFY_WRITERS.
    writer = _BackgroundWriter(write, threads=settings.NPL_RECLASSIFY_WRITERS) if pipelined else None
    last_id = 0
    try:
        while True:
            rows = list(base.filter(pk__gt=last_id).order_by("pk").values_list(*_FACT_COLUMNS)[:batch_size])
            if not rows:
                break
            last_id = rows[-1][0]
            result.examined += len(rows)
            changes = [c for c in (_change_for(row, as_of) for row in rows) if c is not None]
            if writer is not None:
                writer.submit(changes)
            else:
                write(changes)
    finally:
        if writer is not None:
            writer.finish()
    # Many loans changed class: the checks that follow (case opening, reminders) plan on today's.
    analyze_after_bulk_write(Loan._meta.db_table, rows=result.changed)
    result.seconds = time.perf_counter() - started
    if run is None and result.changed:
        # A run on demand (some loans) that changed something is recorded as a run too.
        run = ClassificationRun.objects.create(as_of=as_of, actor=actor, whole_book=False)
    if run is not None:
        ClassificationRun.objects.filter(pk=run.pk).update(
            finished_at=timezone.now(),
            loans_examined=result.examined,
            loans_changed=result.changed,
            became_non_performing=len(result.became_non_performing),
            left_non_performing=len(result.left_non_performing),
        )
        if result.changed:
            _audit_run(run, result, history, actor)
    return result


def _audit_run(run: ClassificationRun, result: ReclassifyResult, history: _History, actor: User | None) -> None:
    """One audit row per run that changed something, pointing to the run and to the classification
    history rows it wrote (no audit row per loan: a daily run may change a million loans)."""
    summary = {
        "classification_run": run.pk,
        "as_of": result.as_of,
        "whole_book": run.whole_book,
        "loans_examined": result.examined,
        "loans_changed": result.changed,
        "became_non_performing": len(result.became_non_performing),
        "left_non_performing": len(result.left_non_performing),
        "classification_changes": history.count,
        "first_classification_change_id": history.first_id,
        "last_classification_change_id": history.last_id,
    }
    if actor is None:
        audit_system_run(event_type="loans.reclassified", subject=run, summary=summary)
    else:
        audit_record(actor=actor, event_type="loans.reclassified", subject=run, new=summary)


def loan_classify(*, loan: Loan, as_of: date, actor: User | None = None) -> Classification:
    """Classify one loan now (on demand, or after its facts changed) and return the result."""
    loans_reclassify(as_of=as_of, actor=actor, loan_ids=[loan.pk])
    loan.refresh_from_db()
    return loan_classification(loan=loan, as_of=as_of)


def _require_manager(actor: User, loan: Loan) -> None:
    if not role_allows(actor, "loans.classify_loan"):
        raise PermissionDenied("Only a manager may classify a loan by hand.")
    if not Loan.objects.visible_to(actor).filter(pk=loan.pk).exists():
        raise PermissionDenied("This loan is outside your branches.")


@transaction.atomic
def loan_classify_manually(
    *, loan: Loan, five_level_class: str, reason: str, actor: User, as_of: date
) -> Classification:
    """A manager's judgement: the loan is at least `five_level_class`. Never better than the floor."""
    _require_manager(actor, loan)
    if five_level_class not in {c.value for c in FiveLevel}:
        raise ValidationError({"five_level_class": f"Unknown five-level class {five_level_class!r}."})
    if not reason or not reason.strip():
        raise ValidationError({"reason": "Give the reason for classifying this loan by hand."})
    loan = Loan.objects.select_for_update().get(pk=loan.pk)
    policy = classification_policy()
    facts = loan_facts(loan)
    rules_only = classify(LoanFacts(**{**facts.__dict__, "manual_five_level": None}), as_of, policy)
    if is_better_five(five_level_class, rules_only.five_level):
        raise ValidationError(
            {
                "five_level_class": (
                    f"Refused: {FiveLevel(five_level_class).label} is better than the floor the rules set, "
                    f"{rules_only.five_level.label} ({rules_only.five_level_reason}). A loan may be classified "
                    "worse than its floor, never better."
                )
            }
        )
    old = {"manual_five_level_class": loan.manual_five_level_class, "five_level_class": loan.five_level_class}
    manual = "" if five_level_class == rules_only.five_level else five_level_class
    loan.manual_five_level_class = manual
    loan.manual_class_reason = reason.strip() if manual else ""
    result = classify(LoanFacts(**{**facts.__dict__, "manual_five_level": manual or None}), as_of, policy)
    provision = specific_provision(result.five_level, loan.outstanding_principal, policy)
    previous_five = loan.five_level_class
    loan.five_level_class = result.five_level
    loan.five_level_rule = result.five_level_rule
    loan.specific_provision = provision
    loan.save(
        update_fields=[
            "manual_five_level_class",
            "manual_class_reason",
            "five_level_class",
            "five_level_rule",
            "specific_provision",
            "updated_at",
        ]
    )
    if previous_five != result.five_level:
        ClassificationChange.objects.create(
            loan=loan,
            scheme=ClassificationChange.Scheme.FIVE_LEVEL,
            from_class=previous_five,
            to_class=result.five_level,
            source=ClassificationChange.Source.MANUAL,
            rule=result.five_level_rule,
            reason=reason.strip()[:500],
            actor=actor,
            as_of=as_of,
        )
        outcome = ReclassifyResult(as_of=as_of)
        was, now = previous_five in NON_PERFORMING_FIVE, result.five_level in NON_PERFORMING_FIVE
        if now and not was:
            outcome.became_non_performing.append(loan.pk)
        elif was and not now:
            outcome.left_non_performing.append(loan.pk)
        outcome.class_changed.append(loan.pk)
        _announce(outcome, actor)
    audit_record(
        actor=actor,
        event_type="loan.classified_manually",
        subject=loan,
        branch_id=loan.branch_id,
        old=old,
        new={"manual_five_level_class": manual, "five_level_class": result.five_level.value},
        reason=reason.strip(),
    )
    return result
