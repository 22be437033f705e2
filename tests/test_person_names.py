"""A person's name is written as their language writes it: 张伟 (family name first, no space),
Wei Zhang. One definition (loans/names.py) behind User.get_full_name, the pages and the exports."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from accountability.services import record_propose
from collections_app.services import case_open
from loans.names import person_name
from notifications.models import Notification
from tests.factories import LoanFactory, UserFactory


@pytest.mark.parametrize(
    ("first_name", "last_name", "shown"),
    [
        ("伟", "张", "张伟"),
        ("小明", "欧阳", "欧阳小明"),  # a two-character family name
        ("Wei", "张", "张Wei"),  # either part written in CJK: family name first, no space
        ("민준", "김", "김민준"),  # Korean writes it the same way
        ("太郎", "山田", "山田太郎"),  # and Japanese
        ("Wei", "Zhang", "Wei Zhang"),
        ("Anna", "", "Anna"),
        ("", "张", "张"),
        (" 伟 ", " 张 ", "张伟"),
        ("", "", ""),
    ],
)
def test_a_persons_name_is_written_as_their_language_writes_it(first_name, last_name, shown):
    assert person_name(first_name, last_name) == shown


@pytest.fixture
def zhang_wei(db, branch, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    return UserFactory(username="zhangwei", first_name="伟", last_name="张", role="officer", branch=branch)


@pytest.fixture
def zhang_weis_case(zhang_wei, branch, manager, manager2):
    today = timezone.localdate()
    loan = LoanFactory(
        loan_no="ZW-1",
        branch=branch,
        responsible_officer=zhang_wei,
        issuing_officer=zhang_wei,
        overdue_since=today - timedelta(days=200),
        five_level_class="substandard",
        four_level_class="overdue",
    )
    case = case_open(loan=loan, actor=zhang_wei, as_of=today, reason="Borrower stopped paying")
    record_propose(
        officer=zhang_wei, record_type="commendation", reason="Recovered early", actor=manager, as_of=today, case=case
    )
    return case


def test_the_user_model_writes_a_chinese_name_family_name_first(zhang_wei):
    assert zhang_wei.get_full_name() == "张伟"
    assert zhang_wei.display_name == "张伟"
    assert str(zhang_wei) == "张伟 (zhangwei)"


def test_pages_show_a_chinese_officer_family_name_first(zhang_weis_case, zhang_wei, manager, client):
    case = zhang_weis_case
    record = case.accountability_records.get()
    client.force_login(manager)
    for url in (
        reverse("collections_app:case_list") + "?scope=branch",
        case.get_absolute_url(),
        case.loan.get_absolute_url(),
        reverse("accountability:board"),
        record.get_absolute_url(),
        reverse("accountability:case_responsibility", args=[case.pk]),
    ):
        html = client.get(url).content.decode()
        assert "张伟" in html, url
        assert "伟 张" not in html, url
    client.force_login(zhang_wei)
    html = client.get(reverse("collections_app:case_list")).content.decode()
    assert "张伟 · " in html  # the header names the logged-in officer too
    assert "伟 张" not in html


def test_notifications_name_a_chinese_officer_family_name_first(zhang_weis_case, manager2):
    title = Notification.objects.get(recipient=manager2, kind="record.to_decide").title
    assert title.endswith("for 张伟")


def test_exports_write_a_chinese_name_family_name_first(zhang_weis_case, manager, client):
    client.force_login(manager)

    def rows(what: str) -> list[dict[str, str]]:
        response = client.get(f"/loans/export/{what}.csv")
        return list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))

    assert [r["responsible_officer"] for r in rows("loans")] == ["张伟"]
    assert [r["responsible_officer"] for r in rows("cases")] == ["张伟"]
    assert [r["officer_name"] for r in rows("accountability")] == ["张伟"]
