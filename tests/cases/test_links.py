"""Links between the workspace and the other apps' pages."""

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_queue_offers_exports_to_a_manager_but_not_to_an_officer(client, case, manager, officer):
    export_url = reverse("loans:export", args=["cases", "csv"])
    client.force_login(manager)
    assert export_url in client.get(reverse("collections_app:case_list")).content.decode()
    client.force_login(officer)
    assert export_url not in client.get(reverse("collections_app:case_list")).content.decode()


def test_case_page_links_to_its_division_of_responsibility(client, case, officer):
    client.force_login(officer)
    body = client.get(case.get_absolute_url()).content.decode()
    assert reverse("accountability:case_responsibility", args=[case.pk]) in body
