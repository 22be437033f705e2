"""Security review, findings 5 and 8: production defaults. DEBUG is off unless asked for; the
compose stack terminates TLS at a reverse proxy; `check --deploy` with the compose settings is
empty."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import yaml

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


def test_the_reclassification_writers_come_from_the_environment():
    read = "from django.conf import settings; print(settings.NPL_RECLASSIFY_WRITERS)"
    result = _django(read, {"DEBUG": "1", "NPL_RECLASSIFY_WRITERS": "4"})
    assert result.returncode == 0 and result.stdout.strip() == "4", result.stderr
    result = _django(read, {"DEBUG": "1", "NPL_RECLASSIFY_WRITERS": "0"})
    assert result.returncode != 0 and "NPL_RECLASSIFY_WRITERS must be 1 or more" in result.stderr


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


# --- finding 8: the compose stack ------------------------------------------------------------------

COMPOSE = ROOT / "docker-compose.yml"
_VARIABLE = re.compile(r"\$\{(\w+)(?::?[-?]([^}]*))?\}")


def _compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def compose_environment(service: str = "web", **given: str) -> dict[str, str]:
    """A service's environment as docker compose would set it: ${VAR:-default} and ${VAR:?message}
    from `given` (what an operator sets), else the default."""
    environment = _compose()["services"][service].get("environment", {})

    def value(match: re.Match) -> str:
        name, default = match.group(1), match.group(2)
        if name in given:
            return given[name]
        assert not match.group(0).startswith(f"${{{name}:?"), f"{name} must be given"
        return default or ""

    return {key: _VARIABLE.sub(value, str(raw)) for key, raw in environment.items()}


def test_check_deploy_with_the_compose_settings_reports_nothing():
    env = compose_environment(SECRET_KEY=SECRET, ALLOWED_HOSTS="npl.bank.internal")
    # As the container has it: none of the test run's own variables (DJANGO_ALLOW_ASYNC_UNSAFE...).
    passed = {"PATH", "HOME", "LANG", "VIRTUAL_ENV", "PYTHONPATH"}
    clean = {k: v for k, v in os.environ.items() if k in passed}
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "DEBUG"],
        cwd=ROOT,
        env={**clean, **env, "DJANGO_SETTINGS_MODULE": "npl_recovery.settings"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == "System check identified no issues (0 silenced)."


def test_the_production_settings_are_strict():
    env = compose_environment(SECRET_KEY=SECRET, ALLOWED_HOSTS="npl.bank.internal")
    code = (
        "from django.conf import settings as s; import json; print(json.dumps([s.SESSION_COOKIE_SECURE, "
        "s.CSRF_COOKIE_SECURE, s.SECURE_SSL_REDIRECT, s.SECURE_HSTS_SECONDS, s.SECURE_PROXY_SSL_HEADER, "
        "s.SESSION_COOKIE_AGE, s.SESSION_COOKIE_HTTPONLY, s.NPL_CLIENT_IP_HEADER, s.NPL_UPLOAD_MAX_BYTES]))"
    )
    result = _django(code, env)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [
        True, True, True, 365 * 24 * 3600, ["HTTP_X_FORWARDED_PROTO", "https"], 30 * 60, True, "HTTP_X_REAL_IP",
        50 * 1024 * 1024,
    ]  # fmt: skip


def test_tls_ends_at_a_reverse_proxy_and_the_app_is_not_published_in_plain_http():
    services = _compose()["services"]
    assert "ports" not in services["web"], "gunicorn must be reachable only through the proxy"
    proxy = services["proxy"]
    assert proxy["image"].startswith("nginx:")
    assert sorted(proxy["ports"]) == sorted(["443:443", "80:80"])
    assert proxy["depends_on"]["web"]["condition"] == "service_healthy"
    mounts = {volume.split(":")[1]: volume.split(":")[0] for volume in proxy["volumes"]}
    template = ROOT / mounts["/etc/nginx/templates/default.conf.template"].removeprefix("./")
    certificate_script = ROOT / mounts["/docker-entrypoint.d/40-self-signed-certificate.sh"].removeprefix("./")
    assert os.access(certificate_script, os.X_OK), "the nginx image runs only executable entrypoint scripts"

    config = template.read_text()
    assert re.search(r"listen 443 ssl;", config) and "http2 on;" in config
    assert re.search(r"listen 80;\s+.*return 301 https://\$host\$request_uri;", config, re.S)
    assert "ssl_certificate /etc/nginx/tls/tls.crt;" in config and "ssl_protocols TLSv1.2 TLSv1.3;" in config
    assert "client_max_body_size ${NPL_PROXY_MAX_BODY};" in config
    assert proxy["environment"]["NPL_PROXY_MAX_BODY"] == "${NPL_PROXY_MAX_BODY:-51m}"
    assert "proxy_pass http://web:8000;" in config
    for header in ("X-Forwarded-Proto $scheme", "X-Real-IP $remote_addr", "Host $http_host"):
        assert f"proxy_set_header {header};" in config
    assert "Strict-Transport-Security" not in config  # Django sets it (one place: SECURE_HSTS_*)

    script = certificate_script.read_text()
    assert 'if [ ! -s "$CERT" ]' in script and "openssl req -x509" in script  # made once, at start, if absent


def test_gunicorn_runs_with_its_request_limits():
    services = _compose()["services"]
    assert services["web"]["command"] == "gunicorn --config gunicorn.conf.py npl_recovery.wsgi:application"
    config = {}
    exec((ROOT / "gunicorn.conf.py").read_text(), config)  # noqa: S102 - our own config file
    assert config["bind"] == "0.0.0.0:8000"
    assert (config["limit_request_line"], config["limit_request_fields"], config["limit_request_field_size"]) == (
        8190, 100, 8190,
    )  # fmt: skip
    assert config["forwarded_allow_ips"] == "*"  # only the proxy reaches gunicorn (no published port)
    assert "gunicorn.conf.py" in (ROOT / "Dockerfile").read_text()
