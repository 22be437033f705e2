"""TOTP two-factor login for the roles NPL_2FA_ROLES names: enrol with a QR code, then a code
after the password at every login. Off by default."""

from __future__ import annotations

import time
from binascii import unhexlify

import pytest
from django.test import Client
from django.urls import reverse
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.views import PENDING_KEY
from audit.models import AuditEvent
from tests.factories import TEST_PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_factor_for_managers_and_admins(settings):
    settings.NPL_2FA_ROLES = ["manager", "admin"]


def _code(hex_key: str, steps_ahead: int = 0) -> str:
    totp = TOTP(unhexlify(hex_key))
    totp.time = time.time() + 30 * steps_ahead
    return f"{totp.token():06d}"


def _password_login(user) -> tuple[Client, str]:
    client = Client()
    response = client.post(reverse("login"), {"username": user.username, "password": TEST_PASSWORD})
    assert response.status_code == 302
    return client, response["Location"]


def _enrol(client: Client) -> str:
    page = client.get(reverse("accounts:two_factor_setup"))
    key = client.session[PENDING_KEY]
    response = client.post(reverse("accounts:two_factor_setup"), {"token": _code(key), "next": "/loans/"})
    assert response.status_code == 302 and response["Location"] == "/loans/"
    return page.content.decode()


def test_without_the_setting_managers_log_in_with_the_password_alone(manager):
    client, _ = _password_login(manager)
    assert client.get(reverse("loans:loan_list")).status_code == 200


def test_a_manager_enrols_with_a_qr_code_drawn_on_the_server_then_works(two_factor_for_managers_and_admins, manager):
    client, _ = _password_login(manager)
    response = client.get(reverse("loans:loan_list"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("accounts:two_factor_setup"))
    html = _enrol(client)
    assert '<div class="qr" id="totp-qr"><svg ' in html and "<img" not in html  # inline, nothing fetched
    assert client.get(reverse("loans:loan_list")).status_code == 200
    device = TOTPDevice.objects.get(user=manager)
    assert device.confirmed
    event = AuditEvent.objects.get(event_type="user.two_factor_enrolled")
    assert event.actor == manager and event.new_values == {"device": device.pk}
    assert device.key not in str(event.new_values)


def test_a_wrong_code_while_enrolling_enrols_nothing(two_factor_for_managers_and_admins, manager):
    client, _ = _password_login(manager)
    client.get(reverse("accounts:two_factor_setup"))
    response = client.post(reverse("accounts:two_factor_setup"), {"token": "000000"})
    assert response.status_code == 400 and "not right" in response.content.decode()
    assert not TOTPDevice.objects.filter(user=manager).exists()
    assert client.get(reverse("loans:loan_list")).status_code == 302


def test_at_the_next_login_the_code_comes_after_the_password(two_factor_for_managers_and_admins, manager):
    first, _ = _password_login(manager)
    _enrol(first)
    key = TOTPDevice.objects.get(user=manager).key

    client, _ = _password_login(manager)
    response = client.get(reverse("loans:loan_list"))
    assert response["Location"].startswith(reverse("accounts:two_factor_verify"))
    wrong = client.post(reverse("accounts:two_factor_verify"), {"token": "123456", "next": "/loans/"})
    assert wrong.status_code == 400 and "not right" in wrong.content.decode()
    assert client.get(reverse("loans:loan_list")).status_code == 302
    # django-otp makes the next try wait a second after a wrong code; the test does not wait.
    # The code of the next 30-second step (the one just used to enrol cannot be used twice).
    TOTPDevice.objects.filter(user=manager).update(throttling_failure_count=0, throttling_failure_timestamp=None)
    right = client.post(reverse("accounts:two_factor_verify"), {"token": _code(key, 1), "next": "/loans/"})
    assert right.status_code == 302 and right["Location"] == "/loans/"
    assert client.get(reverse("loans:loan_list")).status_code == 200


def test_the_same_code_is_not_accepted_twice(two_factor_for_managers_and_admins, manager):
    first, _ = _password_login(manager)
    _enrol(first)
    key = TOTPDevice.objects.get(user=manager).key
    client, _ = _password_login(manager)
    assert client.post(reverse("accounts:two_factor_verify"), {"token": _code(key)}).status_code == 400


def test_officers_are_not_asked_for_a_code(two_factor_for_managers_and_admins, officer):
    client, _ = _password_login(officer)
    assert client.get(reverse("loans:loan_list")).status_code == 200


def test_the_django_admin_also_waits_for_the_code(two_factor_for_managers_and_admins, admin_user):
    client, _ = _password_login(admin_user)
    response = client.get(reverse("admin:index"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("accounts:two_factor_setup"))


def test_an_htmx_request_before_the_code_is_sent_to_the_code_page(two_factor_for_managers_and_admins, manager):
    client, _ = _password_login(manager)
    response = client.get(reverse("notifications:bell"), HTTP_HX_REQUEST="true")
    assert response.status_code == 204
    assert response["HX-Redirect"].startswith(reverse("accounts:two_factor_setup"))


def test_the_return_address_after_the_code_stays_on_this_site(two_factor_for_managers_and_admins, manager):
    client, _ = _password_login(manager)
    client.get(reverse("accounts:two_factor_setup"))
    key = client.session[PENDING_KEY]
    response = client.post(reverse("accounts:two_factor_setup"), {"token": _code(key), "next": "https://evil.example/"})
    assert response["Location"] == "/"


def test_an_admin_resets_a_lost_authenticator_through_the_service(
    two_factor_for_managers_and_admins, manager, admin_user
):
    first, _ = _password_login(manager)
    _enrol(first)
    device = TOTPDevice.objects.get(user=manager)
    admin = Client()
    admin.force_login(admin_user)
    # The admin is verified too (its own device), then resets the manager's.
    from django_otp import DEVICE_ID_SESSION_KEY

    own = TOTPDevice.objects.create(user=admin_user, name="admin")
    session = admin.session
    session[DEVICE_ID_SESSION_KEY] = own.persistent_id
    session.save()
    response = admin.post(
        reverse("admin:otp_totp_totpdevice_changelist"), {"action": "reset", "_selected_action": [device.pk]}
    )
    assert response.status_code == 302
    assert not TOTPDevice.objects.filter(user=manager).exists()
    assert AuditEvent.objects.filter(event_type="user.two_factor_reset", subject_id=manager.pk).exists()


def test_the_code_pages_load_nothing_by_themselves_and_show_no_menu(two_factor_for_managers_and_admins, manager):
    client, _ = _password_login(manager)
    html = client.get(reverse("accounts:two_factor_setup")).content.decode()
    # The bell polls by itself; before the code it would be sent back here, and reload the page.
    assert reverse("notifications:bell") not in html
    assert reverse("loans:loan_list") not in html
