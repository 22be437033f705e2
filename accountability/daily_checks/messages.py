"""What the daily checks tell people: every notification title and body they send, and the reasons
they write on the records they propose, in one place and wrapped for translation.

Each text is a whole sentence with named placeholders (a translator may reorder them). Titles and
bodies are lazy texts (notifications.services.text): filled in the language of each recipient
when their notification is written. The reasons written on records are filled when the check runs,
in the active language. Dates are written YYYY-MM-DD; money with two decimals and thousands
separators; shares as plain percentages.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any, NamedTuple

from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext_lazy

from notifications.services import text


class Message(NamedTuple):
    title: Any  # lazy texts, rendered per recipient
    body: Any


def _day(value: date) -> str:
    return f"{value:%Y-%m-%d}"


def _money(value: Decimal) -> str:
    return f"{value:,.2f}"


def _percent(share: Decimal) -> str:
    return f"{share.normalize():f}"


# --- 2. time-limit reminders -------------------------------------------------------------------------

REMINDER_TITLE_TODAY = _("Loan %(loan_no)s: the recovery time limit is today (%(deadline)s)")
REMINDER_TITLE_TOMORROW = _("Loan %(loan_no)s: the recovery time limit is tomorrow (%(deadline)s)")
REMINDER_TITLE_IN_DAYS = ngettext_lazy(
    "Loan %(loan_no)s: the recovery time limit is in %(days)d day (%(deadline)s)",
    "Loan %(loan_no)s: the recovery time limit is in %(days)d days (%(deadline)s)",
    "days",
)
REMINDER_BODY = _(
    "You are responsible for %(share)s%% of loan %(loan_no)s. Recover it by %(deadline)s; "
    "a missed time limit means a sanction is proposed."
)


def deadline_reminder(*, loan_no: str, deadline: date, days_left: int, share: Decimal) -> Message:
    values = {"loan_no": loan_no, "deadline": deadline, "days": days_left, "share": _percent(share)}
    if days_left == 0:
        title = text(REMINDER_TITLE_TODAY, **values)
    elif days_left == 1:
        title = text(REMINDER_TITLE_TOMORROW, **values)
    else:
        title = text(REMINDER_TITLE_IN_DAYS, **values)
    return Message(title, text(REMINDER_BODY, **values))


# --- 3. a time limit missed --------------------------------------------------------------------------

MISSED_REASON = _("Loan %(loan_no)s was not recovered by its time limit %(deadline)s (%(share)s%% responsibility).")
MISSED_PROPOSED_TITLE = _("%(type)s proposed: a recovery time limit was missed")
MISSED_MANAGERS_TITLE = _("%(count)d recovery time limit(s) missed: sanctions proposed for you to decide")
MISSED_MANAGERS_BODY = _("The checks of %(as_of)s found loans not recovered by their time limit.")


def missed_deadline_reason(*, loan_no: str, deadline: date, share: Decimal) -> str:
    """The reason written on each sanction proposed for a missed time limit."""
    return str(MISSED_REASON % {"loan_no": loan_no, "deadline": _day(deadline), "share": _percent(share)})


# --- 4. a loan recovered within its time limit ---------------------------------------------------------

RECOVERED_REASON = _(
    "Loan %(no)s recovered on %(day)s, within its time limit %(deadline)s (%(share)s%% "
    "responsibility): %(what)s as promised. Cash recovered %(cash)s; value taken in kind %(in_kind)s."
)
RECOVERED_BONUS = _("a bonus of %(amount)s (%(rate)s of the cash)")
RECOVERED_COMMENDATION = _("a commendation")


def recovered_in_time_reason(
    *,
    loan_no: str,
    recovered_on: date,
    deadline: date,
    share: Decimal,
    bonus: Decimal | None,
    bonus_rate: Decimal,
    cash: Decimal,
    in_kind: Decimal,
) -> str:
    """The reason written on each reward proposed for a loan recovered within its time limit."""
    if bonus is not None:
        what = RECOVERED_BONUS % {"amount": _money(bonus), "rate": f"{bonus_rate:%}"}
    else:
        what = str(RECOVERED_COMMENDATION)
    return str(
        RECOVERED_REASON
        % {
            "no": loan_no,
            "day": _day(recovered_on),
            "deadline": _day(deadline),
            "share": _percent(share),
            "what": what,
            "cash": _money(cash),
            "in_kind": _money(in_kind),
        }
    )


def missed_deadline_proposed(*, type_label: Any) -> Any:
    """The title of the officer's message about a sanction proposed for them (its body is the reason)."""
    return text(MISSED_PROPOSED_TITLE, type=type_label)


def missed_deadlines_for_managers(*, count: int, as_of: date) -> Message:
    return Message(text(MISSED_MANAGERS_TITLE, count=count), text(MISSED_MANAGERS_BODY, as_of=as_of))


# --- 5. promises to pay ------------------------------------------------------------------------------

PROMISE_DUE_TITLE = _("Loan %(loan_no)s: a promise to pay %(amount)s is due today")
PROMISE_DUE_BODY = _("%(paid)s of it has been paid so far. Follow up with the borrower today.")
PROMISE_BROKEN_TITLE = _("Loan %(loan_no)s: a promise to pay %(amount)s was broken")
PROMISE_BROKEN_BODY = _("Only %(paid)s was paid by the due date. Consider the next measure.")


def promise(*, event: str, loan_no: str, amount: Decimal, paid: Decimal) -> Message:
    """`event` is "due" (due today) or "broken"."""
    values = {"loan_no": loan_no, "amount": _money(amount), "paid": _money(paid)}
    if event == "due":
        return Message(text(PROMISE_DUE_TITLE, **values), text(PROMISE_DUE_BODY, **values))
    return Message(text(PROMISE_BROKEN_TITLE, **values), text(PROMISE_BROKEN_BODY, **values))


# --- 6. limitation periods ---------------------------------------------------------------------------

LIMITATION_TITLE = ngettext_lazy(
    "Loan %(loan_no)s: the claim runs out in %(days)d day (%(expires)s)",
    "Loan %(loan_no)s: the claim runs out in %(days)d days (%(expires)s)",
    "days",
)
LIMITATION_BODY = _(
    "The limitation period runs from %(starts)s. Keep the claim alive: obtain a payment, a written "
    "acknowledgement of the debt or a notice signed by the debtor."
)


def limitation_warning(*, loan_no: str, expires: date, days_left: int, starts: date) -> Message:
    values = {"loan_no": loan_no, "expires": expires, "days": days_left, "starts": starts}
    return Message(text(LIMITATION_TITLE, **values), text(LIMITATION_BODY, **values))


# --- 7. "loans by loans" -----------------------------------------------------------------------------

LOANS_BY_LOANS_TITLE = _("Loans by loans? %(count)d new loan(s) close to a repayment of an overdue loan")
LOANS_BY_LOANS_BODY = _(
    "The checks of %(as_of)s found new loans to the borrower of an overdue loan, or to a related party, "
    "disbursed close to a repayment of it. Confirm or clear each."
)


def loans_by_loans_for_managers(*, count: int, as_of: date) -> Message:
    return Message(text(LOANS_BY_LOANS_TITLE, count=count), text(LOANS_BY_LOANS_BODY, as_of=as_of))


IMPORT_FLAGS_TITLE = _("%(count)d new loan(s) of an import flagged for your review")
IMPORT_FLAGS_BODY = _(
    "The import of %(as_of)s found new loans near a fall of a related overdue loan's balance (loans by loans) "
    "or lent while a non-performing loan or a missed time limit stands (first pay off, then increase). "
    "Confirm or clear each."
)


def import_flags_for_managers(*, count: int, as_of: date) -> Message:
    return Message(text(IMPORT_FLAGS_TITLE, count=count), text(IMPORT_FLAGS_BODY, as_of=as_of))


# --- 8. the watch list -------------------------------------------------------------------------------

WATCH_LIST_TITLE = _("%(count)d of your loans joined the watch list")
WATCH_LIST_BODY = _("Performing loans that may turn bad: contact the borrowers before they do.")


def watch_list_for_officer(*, count: int) -> Message:
    return Message(text(WATCH_LIST_TITLE, count=count), text(WATCH_LIST_BODY))


# --- 10. the ledger invariant ------------------------------------------------------------------------

LEDGER_INVARIANT_TITLE = ngettext_lazy(
    "%(count)d loan's balance does not match its ledger",
    "%(count)d loans' balances do not match their ledger",
    "count",
)
LEDGER_INVARIANT_BODY = _(
    "The checks of %(as_of)s found balances that are not the opening balance plus the ledger entries: "
    "a change went round the ledger. Find out which and correct it through the ledger."
)


def ledger_invariant(*, count: int, as_of: date) -> Message:
    return Message(text(LEDGER_INVARIANT_TITLE, count=count), text(LEDGER_INVARIANT_BODY, as_of=as_of))


# --- the dashboards' kept figures (issue 13) ------------------------------------------------------------

KEPT_FIGURES_TITLE = ngettext_lazy(
    "%(count)d dashboard figure cell differed from the book and was rebuilt",
    "%(count)d dashboard figure cells differed from the book and were rebuilt",
    "count",
)
KEPT_FIGURES_BODY = _(
    "The checks of %(as_of)s found dashboard figures that the database triggers did not keep equal to "
    "the loans, the ledger, the cases and the costs; they were rebuilt. The daily check's record names "
    "the first cells: find out which write went round the triggers."
)


def kept_figures(*, count: int, as_of: date) -> Message:
    return Message(text(KEPT_FIGURES_TITLE, count=count), text(KEPT_FIGURES_BODY, as_of=as_of))


# --- 11. legal deadlines (issue 12) --------------------------------------------------------------------

HEARING_TITLE_TODAY = _("Loan %(loan_no)s: hearing today (%(on)s) at %(place)s")
HEARING_TITLE_TOMORROW = _("Loan %(loan_no)s: hearing tomorrow (%(on)s) at %(place)s")
HEARING_TITLE_IN_DAYS = ngettext_lazy(
    "Loan %(loan_no)s: hearing in %(days)d day (%(on)s) at %(place)s",
    "Loan %(loan_no)s: hearing in %(days)d days (%(on)s) at %(place)s",
    "days",
)
HEARING_BODY = _("Proceeding %(case_number)s before %(court)s. Prepare the evidence and attend.")


def hearing_reminder(*, loan_no: str, on: date, days_left: int, place: str, court: str, case_number: str) -> Message:
    values = {
        "loan_no": loan_no,
        "on": on,
        "days": days_left,
        "place": place,
        "court": court,
        "case_number": case_number,
    }
    if days_left == 0:
        title = text(HEARING_TITLE_TODAY, **values)
    elif days_left == 1:
        title = text(HEARING_TITLE_TOMORROW, **values)
    else:
        title = text(HEARING_TITLE_IN_DAYS, **values)
    return Message(title, text(HEARING_BODY, **values))


PRESERVATION_TITLE = ngettext_lazy(
    "Loan %(loan_no)s: a preservation order expires in %(days)d day (%(expires)s)",
    "Loan %(loan_no)s: a preservation order expires in %(days)d days (%(expires)s)",
    "days",
)
PRESERVATION_BODY = _(
    "%(order)s of %(description)s (proceeding %(case_number)s). Apply to the court for renewal before "
    "%(expires)s, or the asset is free again."
)
PRESERVATION_LAPSED_TITLE = _("Loan %(loan_no)s: a preservation order lapsed on %(expires)s")
PRESERVATION_LAPSED_BODY = _(
    "%(order)s of %(description)s (proceeding %(case_number)s) was neither renewed nor released: the asset "
    "is no longer preserved. Apply for a new order or record the release."
)


def preservation_reminder(
    *, loan_no: str, expires: date, days_left: int, order: Any, description: str, case_number: str
) -> Message:
    values = {
        "loan_no": loan_no,
        "expires": expires,
        "days": days_left,
        "order": order,
        "description": description,
        "case_number": case_number,
    }
    return Message(text(PRESERVATION_TITLE, **values), text(PRESERVATION_BODY, **values))


def preservation_lapsed(*, loan_no: str, expires: date, order: Any, description: str, case_number: str) -> Message:
    values = {
        "loan_no": loan_no,
        "expires": expires,
        "order": order,
        "description": description,
        "case_number": case_number,
    }
    return Message(text(PRESERVATION_LAPSED_TITLE, **values), text(PRESERVATION_LAPSED_BODY, **values))


ENFORCEMENT_TITLE = ngettext_lazy(
    "Loan %(loan_no)s: apply for enforcement within %(days)d day (by %(deadline)s)",
    "Loan %(loan_no)s: apply for enforcement within %(days)d days (by %(deadline)s)",
    "days",
)
ENFORCEMENT_BODY = _(
    "The decision in proceeding %(case_number)s set performance by %(performance)s. After %(deadline)s the "
    "court will not enforce it."
)
ENFORCEMENT_MISSED_TITLE = _("Loan %(loan_no)s: the enforcement application deadline %(deadline)s has passed")
ENFORCEMENT_MISSED_BODY = _("No application for enforcement was recorded in proceeding %(case_number)s.")


def enforcement_warning(
    *, loan_no: str, deadline: date, days_left: int, performance: date, case_number: str
) -> Message:
    values = {
        "loan_no": loan_no,
        "deadline": deadline,
        "days": days_left,
        "performance": performance,
        "case_number": case_number,
    }
    return Message(text(ENFORCEMENT_TITLE, **values), text(ENFORCEMENT_BODY, **values))


def enforcement_missed(*, loan_no: str, deadline: date, case_number: str) -> Message:
    values = {"loan_no": loan_no, "deadline": deadline, "case_number": case_number}
    return Message(text(ENFORCEMENT_MISSED_TITLE, **values), text(ENFORCEMENT_MISSED_BODY, **values))


GUARANTEE_TITLE = ngettext_lazy(
    "Loan %(loan_no)s: the guarantee period of %(guarantor)s ends in %(days)d day (%(ends)s)",
    "Loan %(loan_no)s: the guarantee period of %(guarantor)s ends in %(days)d days (%(ends)s)",
    "days",
)
GUARANTEE_BODY = _(
    "No demand has been served on %(guarantor)s. Serve a demand by %(ends)s or the guarantor is released "
    "from %(amount)s."
)
GUARANTEE_RELEASED_TITLE = _("Loan %(loan_no)s: guarantor %(guarantor)s released, %(amount)s lost")
GUARANTEE_RELEASED_BODY = _("The guarantee period ended on %(ends)s without a demand served on the guarantor.")
# A general guarantee (loans.Guarantee.Liability.GENERAL) is kept by a suit against the debtor, not a demand.
GUARANTEE_GENERAL_BODY = _(
    "%(guarantor)s is a general guarantor and no suit against the debtor has been filed. File suit by %(ends)s "
    "or the guarantor is released from %(amount)s."
)
GUARANTEE_GENERAL_RELEASED_BODY = _(
    "The guarantee period ended on %(ends)s without a suit against the debtor (general guarantee)."
)


def guarantee_warning(
    *, loan_no: str, guarantor: str, ends: date, days_left: int, amount: Decimal, general: bool = False
) -> Message:
    values = {"loan_no": loan_no, "guarantor": guarantor, "ends": ends, "days": days_left, "amount": _money(amount)}
    body = GUARANTEE_GENERAL_BODY if general else GUARANTEE_BODY
    return Message(text(GUARANTEE_TITLE, **values), text(body, **values))


def guarantee_released(*, loan_no: str, guarantor: str, ends: date, amount: Decimal, general: bool = False) -> Message:
    values = {"loan_no": loan_no, "guarantor": guarantor, "ends": ends, "amount": _money(amount)}
    body = GUARANTEE_GENERAL_RELEASED_BODY if general else GUARANTEE_RELEASED_BODY
    return Message(text(GUARANTEE_RELEASED_TITLE, **values), text(body, **values))


TIME_BARRED_TITLE = _("Loan %(loan_no)s: the claim is time-barred since %(expires)s")
TIME_BARRED_BODY = _(
    "The limitation period ran from %(starts)s and ended on %(expires)s with no payment, acknowledgement, "
    "signed notice, suit or enforcement application. The court may refuse to enforce the claim."
)


def time_barred(*, loan_no: str, expires: date, starts: date) -> Message:
    values = {"loan_no": loan_no, "expires": expires, "starts": starts}
    return Message(text(TIME_BARRED_TITLE, **values), text(TIME_BARRED_BODY, **values))
