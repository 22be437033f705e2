"""Shared fixtures: the branch tree, personas, service checks and a real Celery worker."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlparse

import pytest
from django.conf import settings
from django.db import connection

from loans.models import Branch, Role
from tests.factories import TEST_PASSWORD, BranchFactory, UserFactory

ROOT = Path(__file__).resolve().parent.parent
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
# Playwright's sync API runs an event loop in the test thread; the ORM calls that tests make
# around it are still synchronous. Tests only.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def service_missing(message: str) -> None:
    """In CI a missing service fails the test; elsewhere the test is skipped with the reason."""
    if IN_CI:
        pytest.fail(f"CI needs this service: {message}")
    pytest.skip(message)


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=2):
            return True
    except OSError:
        return False


@pytest.fixture(autouse=True)
def _language_reset() -> Iterator[None]:
    """Each test starts in the default language: a request in Chinese (LocaleMiddleware) leaves
    its language active in the thread, and lazy labels (the menu's) would follow it."""
    from django.utils import translation

    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.activate(settings.LANGUAGE_CODE)


@pytest.fixture(autouse=True)
def _evidence_storage(request, tmp_path_factory) -> Iterator[None]:
    """Evidence files a test keeps go to a directory of its own, not under var/ (evidence app)."""
    from django.test import override_settings

    location = tmp_path_factory.mktemp("evidence")
    storages = {
        **settings.STORAGES,
        "evidence": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(location), "base_url": None},
        },
    }
    with override_settings(STORAGES=storages):
        yield


@pytest.fixture
def require_postgres() -> None:
    if connection.vendor != "postgresql":
        service_missing("PostgreSQL: set DATABASE_URL=postgres://... to run this test")


@pytest.fixture
def require_redis() -> str:
    url = settings.CELERY_BROKER_URL
    if not url.startswith("redis://"):
        service_missing("Redis: set CELERY_BROKER_URL=redis://... to run this test")
    parsed = urlparse(url)
    if not _reachable(parsed.hostname or "127.0.0.1", parsed.port or 6379):
        service_missing(f"Redis at {url} is not reachable")
    return url


def chromium_path() -> str | None:
    return os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or shutil.which("chromium-browser")


# --- the bank -------------------------------------------------------------------------------


@pytest.fixture
def head_office(db) -> Branch:
    return BranchFactory(code="HO", name="Head Office", kind=Branch.Kind.HEAD_OFFICE, parent=None)


@pytest.fixture
def branch(head_office) -> Branch:
    return BranchFactory(code="B01", name="Riverside", parent=head_office)


@pytest.fixture
def outlet(branch) -> Branch:
    return BranchFactory(code="O11", name="Riverside Market", kind=Branch.Kind.OUTLET, parent=branch)


@pytest.fixture
def other_branch(head_office) -> Branch:
    return BranchFactory(code="B02", name="Hillside", parent=head_office)


@pytest.fixture
def officer(branch):
    return UserFactory(username="officer", role=Role.OFFICER, branch=branch)


@pytest.fixture
def officer2(branch):
    return UserFactory(username="officer2", role=Role.OFFICER, branch=branch)


@pytest.fixture
def outlet_officer(outlet):
    return UserFactory(username="outlet_officer", role=Role.OFFICER, branch=outlet)


@pytest.fixture
def manager(branch):
    return UserFactory(username="manager", role=Role.MANAGER, branch=branch)


@pytest.fixture
def manager2(branch):
    return UserFactory(username="manager2", role=Role.MANAGER, branch=branch)


@pytest.fixture
def head_manager(head_office):
    return UserFactory(username="head_manager", role=Role.MANAGER, branch=head_office)


@pytest.fixture
def admin_user(head_office):
    return UserFactory(username="admin", role=Role.ADMIN, branch=head_office, is_staff=True, is_superuser=True)


@pytest.fixture
def auditor(head_office):
    return UserFactory(username="auditor", role=Role.AUDITOR, branch=head_office)


@pytest.fixture
def outsider(other_branch):
    """An officer of another branch: sees none of Riverside's rows."""
    return UserFactory(username="outsider", role=Role.OFFICER, branch=other_branch)


@pytest.fixture
def outside_manager(other_branch):
    return UserFactory(username="outside_manager", role=Role.MANAGER, branch=other_branch)


@pytest.fixture
def login(client) -> Callable:
    def _login(user):
        client.force_login(user)
        return client

    return _login


@pytest.fixture
def password() -> str:
    return TEST_PASSWORD


# --- a real Celery worker ---------------------------------------------------------------------


def database_url_for_subprocess() -> str:
    """The URL of the database this test run uses (the test database), for a worker process."""
    s = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{s['NAME']}"
    user = s.get("USER") or "postgres"
    auth = f"{user}:{s['PASSWORD']}@" if s.get("PASSWORD") else f"{user}@"
    return f"postgres://{auth}{s.get('HOST') or '127.0.0.1'}:{s.get('PORT') or 5432}/{s['NAME']}"


class WorkerProcess:
    def __init__(
        self, queue: str, concurrency: int = 1, extra_env: dict | None = None, include: list[str] | None = None
    ) -> None:
        self.queue = queue
        self.log = ROOT / "var" / f"test-worker-{queue}-{uuid.uuid4().hex[:6]}.log"
        self.log.parent.mkdir(parents=True, exist_ok=True)
        env = {
            **os.environ,
            "DATABASE_URL": database_url_for_subprocess(),
            "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
            "DATABASE_POOL": "0",
            "PYTHONUNBUFFERED": "1",
            **(extra_env or {}),
        }
        self._logfile = open(self.log, "w")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "npl_recovery",
                "worker",
                "-Q",
                queue,
                "--pool=prefork",
                f"--concurrency={concurrency}",
                "--loglevel=INFO",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "-n",
                f"test-{queue}-{uuid.uuid4().hex[:6]}@%h",
                *(f"--include={module}" for module in include or ()),
            ],
            cwd=ROOT,
            env=env,
            stdout=self._logfile,
            stderr=subprocess.STDOUT,
        )

    def output(self) -> str:
        self._logfile.flush()
        return self.log.read_text()

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"Celery worker exited early:\n{self.output()}")
            if "ready." in self.output():
                return
            time.sleep(0.2)
        raise RuntimeError(f"Celery worker not ready after {timeout}s:\n{self.output()}")

    def stop(self, kill: bool = False) -> None:
        if self.proc.poll() is None:
            if kill:
                self.proc.kill()
            else:
                self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._logfile.close()


@pytest.fixture
def celery_worker_factory(transactional_db) -> Iterator[Callable[..., WorkerProcess]]:
    """Start real `celery worker` processes on a private queue, against this run's database."""
    if IN_CI and not settings.CELERY_BROKER_URL.startswith("redis://"):
        pytest.fail("CI runs the Celery tests on Redis: set CELERY_BROKER_URL=redis://...")
    if settings.CELERY_BROKER_URL.startswith("redis://"):
        parsed = urlparse(settings.CELERY_BROKER_URL)
        if not _reachable(parsed.hostname or "127.0.0.1", parsed.port or 6379):
            service_missing(f"Redis at {settings.CELERY_BROKER_URL} is not reachable")
    workers: list[WorkerProcess] = []
    queue = f"test-{uuid.uuid4().hex[:10]}"

    def start(concurrency: int = 1, extra_env: dict | None = None, include: list[str] | None = None) -> WorkerProcess:
        worker = WorkerProcess(queue, concurrency, extra_env, include)
        workers.append(worker)
        worker.wait_ready()
        return worker

    start.queue = queue  # type: ignore[attr-defined]
    yield start
    for w in workers:
        w.stop()


def wait_for(predicate: Callable[[], bool], timeout: float = 60, interval: float = 0.25) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return False


# --- browser (Playwright driving Debian's chromium) --------------------------------------------

CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
SCREENSHOTS = ROOT / "var" / "screenshots"


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    path = chromium_path()
    if not path:
        service_missing("Debian's chromium is not installed (apt-get install -y chromium)")
    return {**browser_type_launch_args, "executable_path": path, "headless": True, "args": CHROMIUM_FLAGS}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    return {**browser_context_args, "viewport": {"width": 1400, "height": 900}, "locale": "en-GB"}


@pytest.fixture
def browser_session(live_server, page):
    """Log a user in through the real login form; returns a helper `go(path)` and `shot(name)`."""

    class Session:
        def __init__(self) -> None:
            self.page = page
            self.base = live_server.url

        def login(self, username: str, password: str = TEST_PASSWORD) -> Session:
            page.goto(f"{self.base}/login/")
            page.fill("#id_username", username)
            page.fill("#id_password", password)
            page.click(".login-card button[type=submit]")
            page.wait_for_load_state()
            return self

        def go(self, path: str):
            return page.goto(f"{self.base}{path}")

        def shot(self, name: str) -> Path:
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            target = SCREENSHOTS / f"{name}.png"
            page.screenshot(path=str(target), full_page=True)
            return target

    return Session()
