"""Fixtures of the accountability tests."""

from __future__ import annotations

import pytest


@pytest.fixture
def eager_celery():
    """Run tasks queued with .delay() in-process (for side effects queued on commit)."""
    from npl_recovery.celery import app

    old = app.conf.task_always_eager, app.conf.task_eager_propagates
    app.conf.task_always_eager = True
    app.conf.task_eager_propagates = True
    yield app
    app.conf.task_always_eager, app.conf.task_eager_propagates = old
