"""A user changes their own password: this session stays, every other one is logged out."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from audit.models import AuditEvent
from tests.factories import TEST_PASSWORD

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "river-side-loans-77"


def _logged_in(user) -> Client:
    client = Client()
    response = client.post(reverse("login"), {"username": user.username, "password": TEST_PASSWORD})
    assert response.status_code == 302, response.content
    return client


def test_changing_the_password_keeps_this_session_and_logs_out_the_others(officer):
    here, elsewhere = _logged_in(officer), _logged_in(officer)
    response = here.post(
        reverse("accounts:password_change"),
        {"old_password": TEST_PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert response.status_code == 302
    assert here.get(reverse("dashboard")).status_code == 200
    other = elsewhere.get(reverse("dashboard"))
    assert other.status_code == 302 and reverse("login") in other["Location"]
    officer.refresh_from_db()
    assert officer.check_password(NEW_PASSWORD)


def test_the_change_is_audited_without_the_password(officer):
    _logged_in(officer).post(
        reverse("accounts:password_change"),
        {"old_password": TEST_PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    event = AuditEvent.objects.get(event_type="user.password_changed")
    assert (event.actor, event.subject_type, event.subject_id) == (officer, "loans.user", officer.pk)
    assert NEW_PASSWORD not in str(event.old_values) + str(event.new_values)


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"old_password": "wrong-one"}, "old_password", "entered wrongly"),
        ({"new_password1": "40392817465512", "new_password2": "40392817465512"}, "new_password1", "entirely numeric"),
        ({"new_password1": "short", "new_password2": "short"}, "new_password1", "too short"),
        ({"new_password2": "something-else-99"}, "new_password2", "differ"),
    ],
)
def test_a_wrong_current_password_or_a_weak_new_one_is_refused_on_its_field(officer, data, field, message):
    client = _logged_in(officer)
    form = {"old_password": TEST_PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD, **data}
    response = client.post(reverse("accounts:password_change"), form)
    assert response.status_code == 400
    assert message in " ".join(response.context["form"].errors[field])
    officer.refresh_from_db()
    assert officer.check_password(TEST_PASSWORD)
    assert not AuditEvent.objects.filter(event_type="user.password_changed").exists()


def test_the_numeric_validator_is_one_of_the_password_rules():
    names = [v["NAME"].rsplit(".", 1)[-1] for v in settings.AUTH_PASSWORD_VALIDATORS]
    assert "NumericPasswordValidator" in names


def test_a_directory_user_is_sent_to_the_directory(client, officer):
    officer.set_unusable_password()
    officer.save()
    client.force_login(officer)
    html = client.get(reverse("accounts:password_change")).content.decode()
    assert "kept by the bank" in html and "new_password1" not in html


def test_every_page_links_to_the_password_page(client, officer):
    client.force_login(officer)
    assert reverse("accounts:password_change") in client.get(reverse("dashboard")).content.decode()
