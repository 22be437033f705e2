from django.db import migrations, models


def refuse_parentless_branches(apps, schema_editor):
    """Say which rows stop the constraint, instead of a bare IntegrityError: those branches need a
    parent (or are the head office) before this migration can run."""
    Branch = apps.get_model("loans", "Branch")
    wrong = list(
        Branch.objects.filter(
            models.Q(parent__isnull=True) & ~models.Q(kind="head_office")
            | models.Q(parent__isnull=False, kind="head_office")
        ).values_list("code", flat=True)[:20]
    )
    if wrong:
        raise RuntimeError(
            "Only the head office may have no parent branch. Give these branches a parent (or make the "
            f"parentless one the head office), then migrate again: {', '.join(wrong)}"
        )


class Migration(migrations.Migration):
    dependencies = [
        ("loans", "0004_lead_user_language"),
    ]

    operations = [
        migrations.RunPython(refuse_parentless_branches, migrations.RunPython.noop, elidable=True),
        migrations.AddConstraint(
            model_name="branch",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(("kind", "head_office"), ("parent__isnull", True)),
                    models.Q(models.Q(("kind", "head_office"), _negated=True), ("parent__isnull", False)),
                    _connector="OR",
                ),
                name="branch_parent_unless_head_office",
                violation_error_message=(
                    "Only the head office has no parent branch: choose the parent of this branch "
                    "(and none for the head office)."
                ),
            ),
        ),
        migrations.AddField(
            model_name="classificationrun",
            name="whole_book",
            field=models.BooleanField(default=True),
        ),
        # Messages only (no database change): what full_clean() says when a correction breaks one.
        migrations.AlterConstraint(
            model_name="collateral",
            name="collateral_value_not_negative",
            constraint=models.CheckConstraint(
                condition=models.Q(("appraised_value__gte", 0)),
                name="collateral_value_not_negative",
                violation_error_message="The appraised value cannot be negative.",
            ),
        ),
        migrations.AlterConstraint(
            model_name="guarantee",
            name="guarantee_amount_positive",
            constraint=models.CheckConstraint(
                condition=models.Q(("amount__gt", 0)),
                name="guarantee_amount_positive",
                violation_error_message="The guaranteed amount must be more than 0.",
            ),
        ),
        migrations.AlterConstraint(
            model_name="guarantee",
            name="guarantee_unique_per_loan",
            constraint=models.UniqueConstraint(
                fields=("guarantor", "loan"),
                name="guarantee_unique_per_loan",
                violation_error_message="This guarantor already guarantees this loan.",
            ),
        ),
        migrations.AlterConstraint(
            model_name="loan",
            name="loan_principal_positive",
            constraint=models.CheckConstraint(
                condition=models.Q(("principal__gt", 0)),
                name="loan_principal_positive",
                violation_error_message="The principal must be more than 0.",
            ),
        ),
        migrations.AlterConstraint(
            model_name="loan",
            name="loan_outstanding_within_principal",
            constraint=models.CheckConstraint(
                condition=models.Q(("outstanding_principal__gte", 0), ("outstanding_principal__lte", models.F("principal"))),
                name="loan_outstanding_within_principal",
                violation_error_message="The outstanding principal must be between 0 and the principal.",
            ),
        ),
        migrations.AlterConstraint(
            model_name="loan",
            name="loan_interest_not_negative",
            constraint=models.CheckConstraint(
                condition=models.Q(("interest_on_balance__gte", 0), ("interest_off_balance__gte", 0)),
                name="loan_interest_not_negative",
                violation_error_message="Interest receivable (on and off balance sheet) cannot be negative.",
            ),
        ),
        migrations.AlterConstraint(
            model_name="loan",
            name="loan_maturity_after_disbursal",
            constraint=models.CheckConstraint(
                condition=models.Q(("maturity_on__gte", models.F("disbursed_on"))),
                name="loan_maturity_after_disbursal",
                violation_error_message="The maturity date cannot be before the disbursement date.",
            ),
        ),
    ]
