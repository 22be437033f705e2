"""Finding 10 (part): a form sent twice records once; opening a notification by GET changes nothing."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.urls import reverse

from collections_app.models import Contact, Recovery
from notifications.models import Notification

pytestmark = pytest.mark.django_db


def _form_html(client, case, kind: str) -> str:
    """One record form of the case page as the browser gets it when the officer opens it (issue 15:
    drawn on demand, collections_app:record_form)."""
    url = reverse("collections_app:record_form", args=[case.pk, kind])
    return client.get(url, HTTP_HX_REQUEST="true").content.decode()


def _hidden_fields(html: str, form_id: str) -> dict[str, str]:
    """The hidden inputs of one form of the page (what the browser sends back unchanged)."""
    form = re.search(rf'<form[^>]*id="{form_id}".*?</form>', html, re.S)
    assert form, f"no form {form_id} on the page"
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', form.group(0)))


def test_a_recovery_sent_twice_from_the_same_form_is_recorded_once(client, bank, officer):
    client.force_login(officer)
    html = _form_html(client, bank.case, "recovery")
    data = {
        **_hidden_fields(html, "form-recovery"),
        "recovery-received_on": bank.case.opened_on.isoformat(),
        "recovery-amount": "250.00",
        "recovery-paid_by": "borrower",
    }
    url = reverse("collections_app:record_create", args=[bank.case.pk, "recovery"])
    before = Recovery.objects.filter(case=bank.case).count()

    first = client.post(url, data)
    second = client.post(url, data)  # the double click, or the browser's resend

    assert first.status_code == second.status_code == 302
    assert Recovery.objects.filter(case=bank.case).count() == before + 1
    assert Recovery.objects.filter(case=bank.case, amount=Decimal("250.00")).count() == 1
    messages = [str(m) for m in second.wsgi_request._messages]
    assert any("already recorded" in m.lower() for m in messages), messages


def test_a_new_form_is_a_new_submission(client, bank, officer):
    client.force_login(officer)
    url = reverse("collections_app:record_create", args=[bank.case.pk, "contact"])
    for _ in range(2):
        html = _form_html(client, bank.case, "contact")
        data = {
            **_hidden_fields(html, "form-contact"),
            "contact-kind": "call",
            "contact-contacted_on": bank.case.opened_on.isoformat(),
            "contact-summary": "Called the borrower",
        }
        assert client.post(url, data).status_code == 302
    assert Contact.objects.filter(case=bank.case, summary="Called the borrower").count() == 2


def test_a_refused_submission_can_be_corrected_and_sent_again(client, bank, officer):
    client.force_login(officer)
    html = _form_html(client, bank.case, "recovery")
    data = {
        **_hidden_fields(html, "form-recovery"),
        "recovery-received_on": bank.case.opened_on.isoformat(),
        "recovery-amount": "99999999.00",  # more than is owed: refused, nothing written
        "recovery-paid_by": "borrower",
    }
    url = reverse("collections_app:record_create", args=[bank.case.pk, "recovery"])
    before = Recovery.objects.filter(case=bank.case).count()
    assert client.post(url, data).status_code == 400
    data["recovery-amount"] = "10.00"
    assert client.post(url, data).status_code == 302
    assert Recovery.objects.filter(case=bank.case).count() == before + 1


def test_opening_a_notification_by_get_changes_nothing(client, bank, officer):
    client.force_login(officer)
    notification = bank.notification
    response = client.get(reverse("notifications:open", args=[notification.pk]))
    assert response.status_code == 302 and response["Location"] == notification.url
    notification.refresh_from_db()
    assert not notification.is_read


def test_opening_a_notification_by_post_marks_it_read_and_goes_to_the_page(client, bank, officer):
    client.force_login(officer)
    response = client.post(reverse("notifications:open", args=[bank.notification.pk]))
    assert response.status_code == 302 and response["Location"] == bank.notification.url
    assert Notification.objects.get(pk=bank.notification.pk).is_read


def test_the_notification_list_opens_with_a_post(client, bank, officer):
    client.force_login(officer)
    html = client.get(reverse("notifications:list")).content.decode()
    open_url = reverse("notifications:open", args=[bank.notification.pk])
    assert re.search(rf'<form method="post" action="{open_url}"', html)
    assert f'href="{open_url}"' not in html
