"""Settings for the test suite (pyproject.toml): the development defaults, as `make run` has them.

The settings default DEBUG to off, which asks for a real SECRET_KEY and ALLOWED_HOSTS and turns
on HTTPS-only cookies and redirects; tests run against the development setup instead (pytest-django
still runs each test with DEBUG off). Worker processes started by tests inherit this module."""

import os

os.environ.setdefault("DEBUG", "1")

from npl_recovery.settings import *  # noqa: E402, F403
