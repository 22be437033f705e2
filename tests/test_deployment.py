"""Security review, findings 5 and 8: production defaults. DEBUG is off unless asked for; the
compose stack terminates TLS at a reverse proxy; `check --deploy` with the compose settings is
empty."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.conftest import ROOT

SECRET = "k3y-for-the-deployment-tests-0123456789-abcdefghijklmnopqrstuvwxyz"


def _django(code: str, env: dict[str, str], *, settings: str = "npl_recovery.settings"):
    clean = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "SECRET_KEY", "ALLOWED_HOSTS"}}
    return subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {code}"],
        cwd=ROOT,
        env={**clean, **env, "DJANGO_SETTINGS_MODULE": settings},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_debug_is_off_unless_the_environment_turns_it_on():
    env = {"SECRET_KEY": SECRET, "ALLOWED_HOSTS": "npl.bank.internal"}
    result = _django("from django.conf import settings; print(settings.DEBUG)", env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"
    result = _django("from django.conf import settings; print(settings.DEBUG)", {"DEBUG": "1"})
    assert result.stdout.strip() == "True", result.stderr


def test_without_debug_or_a_secret_key_the_app_says_what_to_set():
    result = _django("pass", {})
    assert result.returncode != 0
    assert "set the SECRET_KEY environment variable" in result.stderr
    assert "DEBUG=1" in result.stderr  # and how to get the development defaults


def test_make_run_turns_debug_on_for_the_demo():
    plan = subprocess.run(["make", "-n", "run"], cwd=ROOT, capture_output=True, text=True, timeout=30)
    assert plan.returncode == 0, plan.stderr
    commands = [line for line in plan.stdout.splitlines() if "manage.py" in line or "run.sh" in line]
    assert commands and all("DEBUG=1" in line for line in commands), commands
    assert 'export DEBUG="${DEBUG:-1}"' in (ROOT / "scripts" / "run.sh").read_text()


def test_the_test_suite_runs_with_the_development_defaults():
    from django.conf import settings

    assert os.environ["DJANGO_SETTINGS_MODULE"] == "npl_recovery.test_settings"
    assert settings.SECRET_KEY and not settings.SESSION_COOKIE_SECURE and not settings.SECURE_SSL_REDIRECT
