"""Notifications: one per event, the bell and the list, e-mail only after commit."""

from __future__ import annotations

import pytest
from django.core import mail
from django.db import transaction
from django.urls import reverse

from notifications.models import Notification
from notifications.services import (
    EmailDeliveryFailed,
    NotificationDraft,
    notification_send,
    notifications_send,
    notifications_send_pending_emails,
)

pytestmark = pytest.mark.django_db(transaction=True)


def _send(user, key="deadline.reminder:1:30", **kw):
    notification_send(
        recipient=user,
        kind="deadline.reminder",
        key=key,
        title=kw.pop("title", "Loan L1: 30 days left"),
        body="Recover by 2026-07-30.",
        url="/accountability/mine/",
        **kw,
    )


def test_the_same_event_notifies_once_however_often_it_is_sent(officer):
    _send(officer)
    _send(officer)
    notifications_send(drafts=[NotificationDraft(officer.pk, "deadline.reminder", "deadline.reminder:1:30", "x")])
    assert Notification.objects.filter(recipient=officer).count() == 1


def test_email_goes_out_after_commit_with_the_link_to_act(officer, eager_celery, settings):
    settings.SITE_URL = "https://npl.bank.example"
    with transaction.atomic():
        _send(officer)
        assert mail.outbox == []  # nothing before the event is committed
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [officer.email]
    assert "30 days left" in message.subject
    assert "https://npl.bank.example/accountability/mine/" in message.body
    n = Notification.objects.get()
    assert n.email_status == "sent" and n.emailed_at is not None
    # The outbox does not send it twice.
    assert notifications_send_pending_emails() == 0
    assert len(mail.outbox) == 1


def test_a_rolled_back_event_leaves_no_notification_and_sends_nothing(officer, eager_celery):
    with pytest.raises(RuntimeError), transaction.atomic():
        _send(officer)
        raise RuntimeError("the event failed")
    assert not Notification.objects.exists()
    assert mail.outbox == []


def test_a_user_without_an_address_is_notified_in_the_app_only(officer, eager_celery):
    officer.email = ""
    officer.save()
    _send(officer)
    assert mail.outbox == []
    assert Notification.objects.get().email_status == "skipped"


def test_a_failing_mail_server_keeps_the_email_pending_for_the_retry(officer, settings):
    settings.EMAIL_BACKEND = "tests.accountability.failing_email.Backend"
    _send(officer)
    with pytest.raises(EmailDeliveryFailed):
        notifications_send_pending_emails()
    n = Notification.objects.get()
    assert (n.email_status, n.email_attempts) == ("pending", 1)
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert notifications_send_pending_emails() == 1
    assert Notification.objects.get().email_status == "sent"


def test_bell_counts_my_unread_notifications_only(client, officer, officer2):
    _send(officer, key="a")
    _send(officer, key="b")
    _send(officer2, key="c")
    client.force_login(officer)
    html = client.get(reverse("notifications:bell")).content.decode()
    assert 'data-unread="2"' in html and ">2</span>" in html


def test_pages_load_the_bell_lazily_without_a_query_of_their_own(client, officer):
    client.force_login(officer)
    html = client.get(reverse("notifications:list")).content.decode()
    assert 'hx-get="/notifications/bell/"' in html and 'hx-trigger="load, every 60s"' in html


def test_opening_a_notification_marks_it_read_and_goes_to_the_page_to_act(client, officer):
    _send(officer)
    n = Notification.objects.get()
    client.force_login(officer)
    response = client.post(reverse("notifications:open", args=[n.pk]))
    assert response.status_code == 302 and response["Location"] == "/accountability/mine/"
    n.refresh_from_db()
    assert n.is_read


def test_someone_elses_notification_is_a_404(client, officer, officer2):
    _send(officer)
    n = Notification.objects.get()
    client.force_login(officer2)
    assert client.get(reverse("notifications:open", args=[n.pk])).status_code == 404
    assert client.post(reverse("notifications:read", args=[n.pk])).status_code == 404
    n.refresh_from_db()
    assert not n.is_read


def test_list_shows_unread_first_filter_and_mark_all_read(client, officer):
    _send(officer, key="a", title="First")
    _send(officer, key="b", title="Second")
    client.force_login(officer)
    html = client.get(reverse("notifications:list") + "?show=unread").content.decode()
    assert "First" in html and "Second" in html and "Unread (2)" in html
    client.post(reverse("notifications:read", args=[Notification.objects.get(key="a").pk]), HTTP_HX_REQUEST="true")
    assert Notification.objects.filter(read_at__isnull=True).count() == 1
    client.post(reverse("notifications:read_all"))
    assert not Notification.objects.filter(read_at__isnull=True).exists()


def test_an_external_link_is_never_followed(client, officer):
    notification_send(recipient=officer, kind="x", key="ext", title="t", url="https://evil.example/")
    client.force_login(officer)
    response = client.get(reverse("notifications:open", args=[Notification.objects.get().pk]))
    assert response["Location"] == reverse("notifications:list")


def test_notification_list_query_count_does_not_grow(client, officer, django_assert_max_num_queries):
    client.force_login(officer)
    _send(officer, key="k0")
    with django_assert_max_num_queries(8) as few:
        client.get(reverse("notifications:list"))
    for i in range(1, 30):
        _send(officer, key=f"k{i}")
    with django_assert_max_num_queries(8) as many:
        client.get(reverse("notifications:list"))
    assert len(few.captured_queries) == len(many.captured_queries)


def test_each_recipient_reads_the_same_event_in_their_own_language(npl_case, manager, manager2, officer, eager_celery):
    """Oliver chose Chinese, the second manager English: one proposal, a message to each in theirs."""
    from accountability.services import record_propose
    from tests.accountability.conftest import OPENED

    officer.language = "zh-hans"
    officer.save(update_fields=["language"])
    record_propose(
        officer=officer, record_type="wage_stop", reason="No visit in three months", actor=manager, as_of=OPENED
    )
    to_officer = Notification.objects.get(recipient=officer)
    to_manager = Notification.objects.get(recipient=manager2)
    assert to_officer.title == "拟对您停发工资"
    assert to_manager.title == f"To decide: wage stop for {officer.display_name}"
    subjects = {m.to[0]: m.subject for m in mail.outbox}
    assert subjects[officer.email] == "[不良贷款清收] 拟对您停发工资"
    assert subjects[manager2.email] == f"[NPL Recovery] To decide: wage stop for {officer.display_name}"
