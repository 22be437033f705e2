"""10d. Guarantee periods: warnings 60, 30 and 7 days (legal policy) before a guarantee period ends
while no demand has been served on the guarantor; a period that ended without one releases the
guarantor: the release and the amount lost are recorded (legal.GuaranteeRelease, read by
legal.selectors.guarantees_released) and the branch's managers are told.

What keeps the guarantor liable depends on the guarantee's kind (loans.Guarantee.liability, read by
legal.rules.guarantee_standing): joint liability needs a demand served on the guarantor within the
period; a general guarantee needs a suit (court or arbitration) against the debtor filed within it.

The period's end is computed per guarantee (legal.rules.guarantee_period_ends: the contract's end
if recorded, else 6 months from the loan's maturity); the query narrows by a slightly wider
maturity range and each row is checked exactly.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.db.models import Exists, F, Min, OuterRef, Q, QuerySet, Subquery
from django.urls import reverse

from accountability.daily_checks import messages
from accountability.daily_checks.batching import Counts, _in_batches
from accountability.directory import ManagerDirectory
from accountability.rules import days_left, threshold_window
from audit.services import AuditRow, audit_records_bulk
from collections_app.models import CollectionCase, GuarantorDemand, LegalProceeding
from legal.models import GuaranteeRelease, GuaranteeTerm, LegalReminder
from legal.policy import legal_policy
from legal.rules import GuaranteeStanding, guarantee_maturity_range, guarantee_period_ends, guarantee_standing
from loans.models import Guarantee
from notifications.services import NotificationDraft, notifications_send

KIND = LegalReminder.Kind.GUARANTEE


def _open_case() -> Subquery:
    return Subquery(CollectionCase.objects.filter(loan=OuterRef("loan"), is_open=True).values("pk")[:1])


def _guarantees() -> QuerySet:
    """Guarantees of loans with an open case, not yet released, with what the rule needs."""
    return (
        Guarantee.objects.filter(Exists(CollectionCase.objects.filter(loan=OuterRef("loan"), is_open=True)))
        .exclude(Exists(GuaranteeRelease.objects.filter(guarantee=OuterRef("pk"))))
        .annotate(
            contract_ends=Subquery(GuaranteeTerm.objects.filter(guarantee=OuterRef("pk")).values("period_ends_on")[:1])
        )
    )


def _in_range(queryset: QuerySet, low: date, high: date) -> QuerySet:
    m_low, m_high = guarantee_maturity_range(low, high, legal_policy())
    return queryset.filter(
        Q(contract_ends__range=(low, high)) | Q(contract_ends__isnull=True, loan__maturity_on__range=(m_low, m_high))
    )


def _suits() -> QuerySet:
    """Suits (court or arbitration) against the debtor of the guarantee's loan: what keeps a general guarantee."""
    return LegalProceeding.objects.filter(
        case__loan=OuterRef("loan"),
        forum__in=[LegalProceeding.Forum.COURT, LegalProceeding.Forum.ARBITRATION],
    )


def _kept_exists() -> Q:
    """The act that keeps the guarantor liable has happened (at any date): no warning is needed."""
    return Q(liability=Guarantee.Liability.JOINT, has_demand=True) | Q(
        liability=Guarantee.Liability.GENERAL, has_suit=True
    )


def guarantees_at_risk(low: date, high: date) -> QuerySet:
    """Guarantees of loans with an open case, not released, whose period may end between `low` and
    `high` (narrowed by a slightly wider maturity range: check each row with `period_ends`), and
    whose guarantor nothing keeps liable yet: what the warnings (and the dashboard's legal
    deadlines) look at. Annotated with `contract_ends` and the open case (`case_id`)."""
    return (
        _in_range(_guarantees(), low, high)
        .annotate(
            has_demand=Exists(GuarantorDemand.objects.filter(guarantee=OuterRef("pk"))),
            has_suit=Exists(_suits()),
        )
        .exclude(_kept_exists())
    )


def period_ends(maturity: date, contract_ends: date | None) -> date:
    """The guarantee period's last day (legal.rules.guarantee_period_ends under the legal policy)."""
    return guarantee_period_ends(maturity, contract_ends, legal_policy())


def open_case_of_loan() -> Subquery:
    """The open case of the guarantee's loan (an annotation)."""
    return _open_case()


def _rows(queryset: QuerySet) -> list[dict]:
    return list(
        queryset.annotate(
            first_demand=Subquery(
                GuarantorDemand.objects.filter(guarantee=OuterRef("pk"))
                .order_by()
                .values("guarantee")
                .annotate(d=Min("demanded_on"))
                .values("d")[:1]
            ),
            first_suit=Subquery(_suits().order_by().values("case__loan").annotate(d=Min("filed_on")).values("d")[:1]),
            case_id=_open_case(),
        ).values(
            "pk",
            "amount",
            "contract_ends",
            "first_demand",
            "first_suit",
            "liability",
            "case_id",
            "loan_id",
            maturity=F("loan__maturity_on"),
            loan_no=F("loan__loan_no"),
            branch_id=F("loan__branch_id"),
            guarantor_name=F("guarantor__name"),
            officer_id=F("loan__responsible_officer_id"),
            owed=F("loan__outstanding_principal") + F("loan__interest_on_balance") + F("loan__interest_off_balance"),
        )
    )


def _ends(row: dict) -> date:
    return period_ends(row["maturity"], row["contract_ends"])


def _url(row: dict) -> str:
    return reverse("collections_app:case_detail", args=[row["case_id"]])


def _warn(as_of: date) -> Counts:
    thresholds = legal_policy().guarantee_warning_days
    counts: Counts = {}
    for threshold in thresholds:
        low, high = threshold_window(threshold, thresholds, as_of)

        def candidates(after: int, threshold: int = threshold, low: date = low, high: date = high) -> QuerySet:
            return guarantees_at_risk(low, high).filter(pk__gt=after)

        def handle(ids: list[int], threshold: int = threshold, low: date = low, high: date = high) -> int:
            rows = [r for r in _rows(candidates(ids[0] - 1).filter(pk__in=ids)) if low <= _ends(r) <= high]
            done = set(
                LegalReminder.objects.filter(
                    kind=KIND, object_id__in=[r["pk"] for r in rows], days_before=threshold
                ).values_list("object_id", "due_on")
            )
            rows = [r for r in rows if (r["pk"], _ends(r)) not in done]
            LegalReminder.objects.bulk_create(
                [
                    LegalReminder(
                        kind=KIND,
                        object_id=r["pk"],
                        days_before=threshold,
                        due_on=_ends(r),
                        branch_id=r["branch_id"],
                        sent_on=as_of,
                    )
                    for r in rows
                ],
                ignore_conflicts=True,
            )
            drafts = []
            for r in rows:
                ends = _ends(r)
                msg = messages.guarantee_warning(
                    loan_no=r["loan_no"],
                    guarantor=r["guarantor_name"],
                    ends=ends,
                    days_left=days_left(ends, as_of),
                    amount=r["amount"],
                    general=r["liability"] == Guarantee.Liability.GENERAL,
                )
                recipients = (
                    [r["officer_id"]] if r["officer_id"] else ManagerDirectory.build().for_branch(r["branch_id"])
                )
                drafts += [
                    NotificationDraft(
                        recipient_id=who,
                        kind="guarantee.warning",
                        key=f"guarantee.warning:{r['pk']}:{threshold}:{ends.isoformat()}:{who}",
                        title=msg.title,
                        body=msg.body,
                        url=_url(r),
                    )
                    for who in recipients
                ]
            notifications_send(drafts=drafts)
            return len(rows)

        counts[f"warnings_{threshold}_days"] = _in_batches(candidates, handle)
    return counts


def _release(as_of: date) -> int:
    """Periods that ended (before `as_of`) with no demand served within them: the guarantor is released."""
    policy = legal_policy()
    _m_low, m_high = guarantee_maturity_range(as_of, as_of, policy)
    directory: list[ManagerDirectory] = []

    def candidates(after: int) -> QuerySet:
        return _guarantees().filter(
            Q(contract_ends__lt=as_of) | Q(contract_ends__isnull=True, loan__maturity_on__lte=m_high), pk__gt=after
        )

    def handle(ids: list[int]) -> int:
        released = []
        for r in _rows(candidates(ids[0] - 1).filter(pk__in=ids)):
            ends = _ends(r)
            standing = guarantee_standing(
                ends, r["first_demand"], as_of, liability=r["liability"], first_suit_on=r["first_suit"]
            )
            if standing == GuaranteeStanding.RELEASED:
                released.append((r, ends, min(r["amount"], r["owed"] or Decimal("0"))))
        if not released:
            return 0
        GuaranteeRelease.objects.bulk_create(
            [
                GuaranteeRelease(
                    guarantee_id=r["pk"],
                    loan_id=r["loan_id"],
                    branch_id=r["branch_id"],
                    period_ended_on=ends,
                    released_on=as_of,
                    amount_lost=lost,
                )
                for r, ends, lost in released
            ],
            ignore_conflicts=True,
        )
        audit_records_bulk(
            actor=None,
            event_type="system.legal.guarantee_released",
            subject_type=CollectionCase._meta.label_lower,
            rows=[
                AuditRow(
                    subject_id=r["case_id"],
                    branch_id=r["branch_id"],
                    old={"guarantee": r["pk"]},
                    new={"guarantee": r["pk"], "period_ends_on": ends, "amount_lost": lost},
                )
                for r, ends, lost in released
            ],
        )
        if not directory:
            directory.append(ManagerDirectory.build())
        drafts = []
        for r, ends, lost in released:
            msg = messages.guarantee_released(
                loan_no=r["loan_no"],
                guarantor=r["guarantor_name"],
                ends=ends,
                amount=lost,
                general=r["liability"] == Guarantee.Liability.GENERAL,
            )
            people = dict.fromkeys(
                [*directory[0].for_branch(r["branch_id"]), *([r["officer_id"]] if r["officer_id"] else [])]
            )
            drafts += [
                NotificationDraft(
                    recipient_id=who,
                    kind="guarantee.released",
                    key=f"guarantee.released:{r['pk']}:{who}",
                    title=msg.title,
                    body=msg.body,
                    url=_url(r),
                )
                for who in people
            ]
        notifications_send(drafts=drafts)
        return len(released)

    return _in_batches(candidates, handle)


def check_guarantee_periods(*, as_of: date) -> Counts:
    counts = _warn(as_of)
    counts["released"] = _release(as_of)
    return counts
