"""Security review, finding 3: the login lockout counts failures per account (and per account and
address), never per address alone; an attacker's own successful logins do not reset the count
of the account under attack; and the locked-out user is told when to try again."""

from __future__ import annotations

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.conf import settings as django_settings
from django.utils import timezone
from freezegun import freeze_time

from tests.factories import TEST_PASSWORD

pytestmark = pytest.mark.django_db

BANK_ADDRESS = "10.20.30.40"  # everyone behind the bank's load balancer


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def log_in(client, username: str, password: str, address: str = BANK_ADDRESS):
    return client.post("/login/", {"username": username, "password": password}, REMOTE_ADDR=address)


def test_guesses_interleaved_with_the_attackers_own_logins_still_lock_the_account(client, manager, officer):
    limit = django_settings.AXES_FAILURE_LIMIT
    for guess in range(1, 46):
        log_in(client, "manager", f"guess-{guess}")
        if guess % 9 == 0:
            # The attacker's own account, from the same address: its success resets only its own count.
            assert log_in(client, "officer", TEST_PASSWORD).status_code == 302
            client.post("/logout/")
    response = log_in(client, "manager", TEST_PASSWORD)
    assert response.status_code == 429, "the right password after 45 guesses must not get in"
    assert limit < 45


def test_failures_on_one_account_do_not_lock_others_behind_the_same_address(client, manager, officer, officer2):
    for guess in range(django_settings.AXES_FAILURE_LIMIT):
        log_in(client, "manager", f"guess-{guess}")
    assert log_in(client, "manager", TEST_PASSWORD).status_code == 429  # the account is locked...
    assert log_in(client, "manager", TEST_PASSWORD, address="10.99.0.1").status_code == 429  # ...from anywhere
    assert log_in(client, "officer", TEST_PASSWORD).status_code == 302  # the others are not
    client.post("/logout/")
    assert log_in(client, "officer2", TEST_PASSWORD).status_code == 302


def test_the_locked_out_user_is_told_when_to_try_again(client, manager):
    start = timezone.now().replace(microsecond=0)
    with freeze_time(start):
        for guess in range(django_settings.AXES_FAILURE_LIMIT):
            log_in(client, "manager", f"guess-{guess}")
        response = log_in(client, "manager", TEST_PASSWORD)
    assert response.status_code == 429
    last_failure = AccessAttempt.objects.get(username="manager").attempt_time
    again = timezone.localtime(last_failure + timedelta(hours=1))
    page = response.content.decode()
    assert "Too many failed log-ins for this account" in page
    assert f"You may try again after {again:%H:%M} ({again:%Y-%m-%d})" in page

    with freeze_time(again + timedelta(minutes=1)):
        assert log_in(client, "manager", TEST_PASSWORD).status_code == 302
