"""Issue 15: the case page draws its record forms when the officer opens them (htmx asks for one
form, collections_app:record_form), not all of them on every view; without JavaScript the same
URL shows the form on a page of its own."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.urls import reverse

from collections_app import services
from collections_app.models import Contact

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def _url(case, kind: str) -> str:
    return reverse("collections_app:record_form", args=[case.pk, kind])


def _hidden_fields(html: str, form_id: str) -> dict[str, str]:
    form = re.search(rf'<form[^>]*id="{form_id}".*?</form>', html, re.S)
    assert form, f"no form {form_id}"
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', form.group(0)))


def test_the_case_page_offers_each_form_by_title_and_link_without_drawing_its_widgets(login, case, officer):
    html = login(officer).get(case.get_absolute_url()).content.decode()
    for kind in ("contact", "promise", "recovery", "notice", "team"):
        assert f'id="record-{kind}"' in html
        assert f'href="{_url(case, kind)}"' in html and f'hx-get="{_url(case, kind)}"' in html
    assert 'name="contact-summary"' not in html and 'name="recovery-amount"' not in html
    assert 'name="team-members"' not in html


def test_htmx_gets_the_form_alone_and_it_records(login, case, officer, today):
    client = login(officer)
    response = client.get(_url(case, "contact"), **HTMX)
    html = response.content.decode()
    assert response.status_code == 200 and "<html" not in html
    assert 'id="form-contact"' in html and 'name="contact-summary"' in html and "submission_key" in html
    data = {
        **_hidden_fields(html, "form-contact"),
        "contact-kind": "call",
        "contact-contacted_on": today.isoformat(),
        "contact-summary": "Called from the drawn form",
    }
    posted = client.post(reverse("collections_app:record_create", args=[case.pk, "contact"]), data, **HTMX)
    assert posted.status_code == 200 and posted["HX-Redirect"] == case.get_absolute_url()
    assert Contact.objects.filter(case=case, summary="Called from the drawn form").count() == 1


def test_without_javascript_the_link_shows_the_form_on_its_own_page(login, case, officer):
    response = login(officer).get(_url(case, "recovery"))
    html = response.content.decode()
    assert response.status_code == 200 and "<html" in html
    assert 'id="form-recovery"' in html and 'name="recovery-amount"' in html
    assert f'href="{case.get_absolute_url()}"' in html  # back to the case
    assert f'action="{reverse("collections_app:record_create", args=[case.pk, "recovery"])}"' in html


def test_a_form_that_failed_is_shown_with_its_errors_on_the_case_page(login, case, officer):
    url = reverse("collections_app:record_create", args=[case.pk, "recovery"])
    response = login(officer).post(url, {"recovery-amount": "-5", "recovery-paid_by": "borrower"})
    html = response.content.decode()
    assert response.status_code == 400
    assert re.search(r'<details class="record" id="record-recovery"\s+open', html)
    assert 'name="recovery-amount"' in html and 'class="errorlist' in html
    assert 'name="contact-summary"' not in html  # the others stay closed and undrawn


@pytest.mark.parametrize("persona", ["outsider", "outside_manager", "outlet_officer"])
def test_a_form_of_a_case_outside_the_users_branches_is_a_404(request, login, case, persona):
    client = login(request.getfixturevalue(persona))
    for kind in ("contact", "team"):
        assert client.get(_url(case, kind)).status_code == 404
        assert client.get(_url(case, kind), **HTMX).status_code == 404


def test_someone_who_may_not_record_work_gets_a_403(login, case, auditor):
    assert login(auditor).get(case.get_absolute_url()).status_code == 200
    assert login(auditor).get(_url(case, "contact"), **HTMX).status_code == 403


def test_a_closed_case_offers_no_form(login, case, officer):
    from collections_app.models import FINISHED_STATES, CollectionCase

    CollectionCase.objects.filter(pk=case.pk).update(is_open=False, measure=next(iter(FINISHED_STATES)).value)
    assert login(officer).get(_url(case, "contact"), **HTMX).status_code == 403


def test_unknown_or_unoffered_forms_are_404(login, case, officer, today):
    client = login(officer)
    assert client.get(_url(case, "nope"), **HTMX).status_code == 404
    for kind in ("dispose", "receipt", "demand", "judgment", "step"):  # nothing to record them on yet
        assert client.get(_url(case, kind), **HTMX).status_code == 404, kind
    services.asset_take_in_kind(
        case=case, actor=officer, kind="vehicle", description="Van", taken_on=today, appraised_value=Decimal("50")
    )
    response = client.get(_url(case, "dispose"), **HTMX)
    assert response.status_code == 200 and "Van" in response.content.decode()


def test_the_form_url_takes_only_get(login, case, officer):
    assert login(officer).post(_url(case, "contact")).status_code == 405
