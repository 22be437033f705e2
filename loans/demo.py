"""A small but believable bank for `make run` and the browser tests. Idempotent."""

from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import Decimal

from django.db import transaction

from loans.models import Borrower, Branch, Collateral, Guarantee, Guarantor, Loan, Role, User
from loans.services import loans_reclassify

DEMO_PASSWORD = "demo-pass-2026"

BRANCHES = [
    # code, name, kind, parent code
    ("HO", "Head Office", Branch.Kind.HEAD_OFFICE, None),
    ("B01", "Riverside Branch", Branch.Kind.BRANCH, "HO"),
    ("B02", "Hillside Branch", Branch.Kind.BRANCH, "HO"),
    ("O11", "Riverside Market Outlet", Branch.Kind.OUTLET, "B01"),
    ("O12", "Riverside East Outlet", Branch.Kind.OUTLET, "B01"),
    ("C21", "Hillside Credit Cooperative", Branch.Kind.COOPERATIVE, "B02"),
]

USERS = [
    # username, first, last, role, branch, superuser
    ("admin", "Ada", "Admin", Role.ADMIN, "HO", True),
    ("auditor", "Aurelia", "Audit", Role.AUDITOR, "HO", False),
    ("manager", "Mei", "Lin", Role.MANAGER, "B01", False),
    ("manager2", "Hao", "Chen", Role.MANAGER, "B02", False),
    ("officer", "Oliver", "Wang", Role.OFFICER, "B01", False),
    ("officer2", "Li", "Zhang", Role.OFFICER, "B01", False),
    ("officer3", "Yan", "Liu", Role.OFFICER, "O11", False),
    ("officer4", "Jun", "Zhao", Role.OFFICER, "B02", False),
    ("officer5", "Fang", "Sun", Role.OFFICER, "C21", False),
]

SURNAMES = [
    "Wang",
    "Li",
    "Zhang",
    "Liu",
    "Chen",
    "Yang",
    "Huang",
    "Zhao",
    "Wu",
    "Zhou",
    "Xu",
    "Sun",
    "Ma",
    "Zhu",
]
GIVEN = [
    "Wei",
    "Fang",
    "Min",
    "Jing",
    "Lei",
    "Qiang",
    "Yan",
    "Jun",
    "Hua",
    "Ping",
    "Xin",
    "Tao",
    "Bo",
    "Ying",
]
ENTERPRISES = ["Textiles", "Agri Co-op", "Machinery", "Logistics", "Ceramics", "Foods", "Timber", "Solar"]
PRODUCTS = ["Working capital", "Farm loan", "Mortgage", "Consumer loan", "Equipment loan", "Microcredit"]

# DPD bands that cover every class, with how many loans fall in each (None: not overdue).
DPD_BANDS = [(None, 150), (3, 20), (30, 50), (120, 45), (300, 35), (500, 40), (900, 25)]


def _dpd_for(rng: random.Random, band: int | None) -> int | None:
    if band is None:
        return None
    spread = {3: 4, 30: 50, 120: 140, 300: 55, 500: 200, 900: 400}[band]
    return band + rng.randint(0, spread)


# Month-end closes the demo leaves behind it (the dashboards' trend and migration matrix).
HISTORY_MONTHS = 12


def seed_demo(*, as_of: date) -> str:
    """Branches, staff and loans; the past months' classifications and month-end closes; then the
    classification of the book as of `as_of`."""
    counts = _seed_book(as_of=as_of)
    closes = _month_end_history(as_of=as_of)
    result = loans_reclassify(as_of=as_of)
    return (
        f"Loan book: {counts['loans_created']} loans created, {counts['loans']} in the book; "
        f"classification changed {result.changed}; {closes} past month ends closed."
    )


def _month_end_history(*, as_of: date) -> int:
    """The demo moves through the last 12 months: mid-month some money comes in on the open cases
    (collections_app.demo), at each month's end the book is classified as of that day (a loan
    overdue since later was not overdue then; one disbursed later is not in the close; the loans
    that became non-performing get their cases then) and the month is closed (the snapshot, each
    loan's classes, the migration cells), as the daily checks would have done. Once: a second run
    finds the closes and does nothing."""
    from accountability.daily_checks import check_month_end_snapshot
    from accountability.models import MonthEndClose
    from collections_app.demo import history_month_recoveries
    from dashboards.query import add_months, month_end

    if MonthEndClose.objects.exists():
        return 0
    first = as_of.replace(day=1)
    for back in range(HISTORY_MONTHS, 0, -1):
        end = month_end(add_months(first, -back))
        # Mid-month, some money comes in on the cases opened by then (part payments).
        history_month_recoveries(month_end=end)
        loans_reclassify(as_of=end)
        check_month_end_snapshot(as_of=end)
    return HISTORY_MONTHS


@transaction.atomic
def _seed_book(*, as_of: date) -> dict[str, int]:
    rng = random.Random(20261129)
    branches: dict[str, Branch] = {}
    for code, name, kind, parent in BRANCHES:
        branches[code], _ = Branch.objects.get_or_create(
            code=code, defaults={"name": name, "kind": kind, "parent": branches.get(parent)}
        )
    users: dict[str, User] = {}
    for username, first, last, role, branch, superuser in USERS:
        user = User.objects.filter(username=username).first()
        if user is None:
            user = User(username=username, first_name=first, last_name=last, role=role, branch=branches[branch])
            user.email = f"{username}@demo-bank.example"
            user.is_staff = superuser
            user.is_superuser = superuser
            user.set_password(DEMO_PASSWORD)
            user.save()
        users[username] = user
    officers_by_branch: dict[str, list[User]] = {}
    for u in users.values():
        if u.role == Role.OFFICER:
            officers_by_branch.setdefault(u.branch.code, []).append(u)
    lending_branches = ["B01", "O11", "B02", "C21", "O12"]

    created = 0
    n = 0
    for band, count in DPD_BANDS:
        for _ in range(count):
            n += 1
            loan_no = f"DEMO{n:05d}"
            branch_code = lending_branches[n % len(lending_branches)]
            officer = rng.choice(officers_by_branch.get(branch_code) or officers_by_branch["B01"])
            kind = rng.choices(list(Borrower.Kind), weights=[60, 20, 5, 10, 5])[0]
            if kind == Borrower.Kind.INDIVIDUAL:
                name = f"{rng.choice(SURNAMES)} {rng.choice(GIVEN)}"
            elif kind == Borrower.Kind.ENTERPRISE:
                name = f"{rng.choice(SURNAMES)}jia {rng.choice(ENTERPRISES)} Ltd"
            elif kind == Borrower.Kind.VILLAGE_COLLECTIVE:
                name = f"{rng.choice(SURNAMES)}zhuang Village Committee"
            elif kind == Borrower.Kind.GOVERNMENT_AGENCY:
                name = f"County {rng.choice(['Water', 'Roads', 'Forestry', 'Education'])} Bureau"
            else:
                name = f"{rng.choice(SURNAMES)}shan {rng.choice(['Hospital', 'School', 'Clinic'])}"
            borrower, _ = Borrower.objects.get_or_create(
                id_no=f"ID{n:08d}",
                defaults={"name": name, "kind": kind, "phone": f"138{rng.randint(10000000, 99999999)}"},
            )
            principal = Decimal(rng.choice([50, 80, 120, 200, 300, 500, 800, 1500, 3000])) * 1000
            outstanding = (principal * Decimal(rng.randint(30, 100)) / 100).quantize(Decimal("0.01"))
            dpd = _dpd_for(rng, band)
            disbursed = as_of - timedelta(days=rng.randint(400, 2000) + (dpd or 0))
            maturity = disbursed + timedelta(days=365 * rng.choice([1, 2, 3, 5]))
            overdue_since = as_of - timedelta(days=dpd) if dpd is not None else None
            # Past maturity with a balance is overdue (issue 11): the book's overdue date is the first
            # unpaid due date, so a loan falls due no earlier than it; a loan not overdue matures later.
            maturity = max(maturity, overdue_since or as_of + timedelta(days=rng.randint(30, 720)))
            interest_on = (outstanding * Decimal("0.012") * Decimal(min(dpd or 0, 90)) / 30).quantize(Decimal("0.01"))
            interest_off = (outstanding * Decimal("0.012") * Decimal(max((dpd or 0) - 90, 0)) / 30).quantize(
                Decimal("0.01")
            )
            loan, was_created = Loan.objects.get_or_create(
                loan_no=loan_no,
                defaults={
                    "borrower": borrower,
                    "branch": branches[branch_code],
                    "product": rng.choice(PRODUCTS),
                    "issuing_officer": officer,
                    "responsible_officer": officer,
                    "principal": principal,
                    "outstanding_principal": outstanding,
                    "interest_on_balance": interest_on,
                    "interest_off_balance": interest_off,
                    "disbursed_on": disbursed,
                    "maturity_on": maturity,
                    "overdue_since": overdue_since,
                    "government_directed": kind != Borrower.Kind.INDIVIDUAL and rng.random() < 0.2,
                    # Some enterprises stopped operating while still paying: idle under four levels only,
                    # non-performing for the case opener under full caliber (issue 11).
                    "business_ceased": kind == Borrower.Kind.ENTERPRISE
                    and ((dpd or 0) > 200 and rng.random() < 0.3 or dpd is None and rng.random() < 0.25),
                },
            )
            if not was_created:
                continue
            created += 1
            if rng.random() < 0.45:
                g_name = f"{rng.choice(SURNAMES)} {rng.choice(GIVEN)}"
                guarantor, _ = Guarantor.objects.get_or_create(id_no=f"G{n:08d}", defaults={"name": g_name})
                Guarantee.objects.create(guarantor=guarantor, loan=loan, amount=principal, signed_on=disbursed)
            if rng.random() < 0.4:
                kind_c = rng.choice(list(Collateral.Kind))
                Collateral.objects.create(
                    loan=loan,
                    kind=kind_c,
                    description=f"{kind_c.label} pledged for {loan_no}",
                    appraised_value=(principal * Decimal(rng.randint(60, 150)) / 100).quantize(Decimal("0.01")),
                    appraised_on=disbursed,
                )
    # Every loan's ledger starts with its opening balance (issue 11); set-based, idempotent.
    from ledger.services import ledger_open_loans

    ledger_open_loans(actor=None, as_of=as_of, source="demo")
    return {"loans_created": created, "loans": Loan.objects.count()}
