"""Start-up checks, the real Celery worker, and the demo data."""

import os
import subprocess
import sys
from datetime import date

import pytest
from django.core.management import call_command

from loans.models import ClassificationRun, Loan
from tests.conftest import ROOT, wait_for
from tests.factories import LoanFactory


def _start_django(env_overrides: dict) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "ALLOWED_HOSTS", "DEBUG"}}
    env.update(env_overrides)
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=ROOT,
        env={**env, "DJANGO_SETTINGS_MODULE": "npl_recovery.settings"},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_production_start_refuses_the_default_secret_key():
    result = _start_django({"DEBUG": "0", "ALLOWED_HOSTS": "bank.example"})
    assert result.returncode != 0
    assert "set the SECRET_KEY environment variable" in result.stderr


def test_production_start_refuses_missing_allowed_hosts():
    result = _start_django({"DEBUG": "0", "SECRET_KEY": "x" * 50})
    assert result.returncode != 0
    assert "set the ALLOWED_HOSTS environment variable" in result.stderr


def test_production_start_with_both_set_succeeds():
    result = _start_django({"DEBUG": "0", "SECRET_KEY": "x" * 50, "ALLOWED_HOSTS": "bank.example"})
    assert result.returncode == 0, result.stderr


def test_bad_rule_setting_stops_with_its_name():
    from django.core.exceptions import ImproperlyConfigured
    from django.test import override_settings

    from loans.policy import classification_policy

    with override_settings(NPL_RULES={"substandard_after_days": -5}), pytest.raises(ImproperlyConfigured) as exc:
        classification_policy()
    assert "substandard_after_days" in str(exc.value)


def test_real_celery_worker_runs_a_task_that_writes_to_the_database(celery_worker_factory, branch):
    """A worker process, started here on the configured broker (Redis in CI), writes to our database."""
    from loans.tasks import reclassify_book

    loan = LoanFactory(branch=branch, overdue_since=date(2026, 1, 1))
    celery_worker_factory()
    reclassify_book.apply_async(args=["2026-06-30"], queue=celery_worker_factory.queue)
    assert wait_for(lambda: ClassificationRun.objects.filter(finished_at__isnull=False).exists(), timeout=60)
    loan.refresh_from_db()
    assert loan.five_level_class == "substandard"  # 180 days past due


@pytest.mark.django_db
def test_demo_data_loads_twice_without_doubling(capsys):
    from loans.models import User
    from reconciliation.models import ReportedFall
    from reconciliation.selectors import falls_for_user, rises_for_user

    call_command("seed_demo")
    first = Loan.objects.count()
    classes = set(Loan.objects.values_list("five_level_class", flat=True))
    falls = ReportedFall.objects.count()
    call_command("seed_demo")
    assert Loan.objects.count() == first >= 300
    assert classes == {"normal", "special_mention", "substandard", "doubtful", "loss"}
    assert "Demo logins" in capsys.readouterr().out
    # Issue 11: the book of the day reported falls for the officer to classify, and a rise (once).
    officer = User.objects.get(username="officer")
    assert ReportedFall.objects.count() == falls >= 3
    assert falls_for_user(user=officer).count() == falls
    assert rises_for_user(user=officer).count() == 1
