from __future__ import annotations

from datetime import date
from decimal import Decimal

import factory

from loans.models import Borrower, Branch, Collateral, Guarantee, Guarantor, Loan, Role, User

TEST_PASSWORD = "test-pass-2026!"


class BranchFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Branch
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"BR{n:03d}")
    name = factory.LazyAttribute(lambda o: f"Branch {o.code}")
    kind = Branch.Kind.BRANCH
    # Only the head office has no parent (a database constraint): other branches hang under "HO".
    parent = factory.Maybe(
        factory.LazyAttribute(lambda o: o.kind == Branch.Kind.HEAD_OFFICE),
        yes_declaration=None,
        no_declaration=factory.SubFactory(
            "tests.factories.BranchFactory", code="HO", name="Head Office", kind=Branch.Kind.HEAD_OFFICE
        ),
    )


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = "Test"
    last_name = factory.Sequence(lambda n: f"User{n}")
    role = Role.OFFICER
    branch = factory.SubFactory(BranchFactory)
    email = factory.LazyAttribute(lambda o: f"{o.username}@bank.example")
    password = factory.PostGenerationMethodCall("set_password", TEST_PASSWORD)

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):  # noqa: N805
        if create:
            obj.save()


class BorrowerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Borrower

    name = factory.Sequence(lambda n: f"Borrower {n}")
    kind = Borrower.Kind.INDIVIDUAL
    id_no = factory.Sequence(lambda n: f"ID{n:010d}")


class LoanFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Loan
        skip_postgeneration_save = True

    loan_no = factory.Sequence(lambda n: f"L{n:08d}")
    borrower = factory.SubFactory(BorrowerFactory)
    branch = factory.SubFactory(BranchFactory)
    product = "Working capital"
    principal = Decimal("100000.00")
    outstanding_principal = Decimal("80000.00")
    interest_on_balance = Decimal("1000.00")
    interest_off_balance = Decimal("500.00")
    disbursed_on = date(2022, 1, 10)
    maturity_on = date(2025, 1, 10)
    overdue_since = None

    @factory.post_generation
    def ledger(obj, create, extracted, **kwargs):  # noqa: N805
        """Every loan starts its ledger with its opening balance (ledger=False: none)."""
        if create and extracted is not False:
            from ledger.services import ledger_open_loan

            ledger_open_loan(loan=obj, actor=None, as_of=obj.disbursed_on, source="factory")


class GuarantorFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Guarantor

    name = factory.Sequence(lambda n: f"Guarantor {n}")
    id_no = factory.Sequence(lambda n: f"G{n:010d}")


class GuaranteeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Guarantee

    guarantor = factory.SubFactory(GuarantorFactory)
    loan = factory.SubFactory(LoanFactory)
    amount = Decimal("50000.00")


class CollateralFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Collateral

    loan = factory.SubFactory(LoanFactory)
    kind = Collateral.Kind.REAL_ESTATE
    description = "Flat, 3rd floor"
    appraised_value = Decimal("120000.00")
