"""Finding 9: the four causes of server errors found by fuzzing, and a fuzz test that keeps them away.

The fuzz test resolves the URLconf, fills each URL's path arguments with real objects
(tests/security/conftest.py PATH_ARGS), and as every persona sends GETs with random query
parameters and POSTs with random values for every field of the forms the site shows for that URL.
"""

from __future__ import annotations

import os
from html.parser import HTMLParser
from urllib.parse import urlparse

import pytest
from django.db import transaction
from django.test import Client
from django.urls import Resolver404, resolve, reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.security.conftest import PATH_ARGS, url_names

pytestmark = pytest.mark.django_db


# --- the four causes ---------------------------------------------------------------------------


@pytest.mark.parametrize("url_name", ["loans:loan_list", "collections_app:case_list"])
@pytest.mark.parametrize("per_page", ["-1", "0", "-25", "1000000000"])
def test_a_negative_or_huge_page_size_shows_a_normal_page(client, bank, manager, url_name, per_page):
    client.force_login(manager)
    response = client.get(reverse(url_name), {"per_page": per_page})
    assert response.status_code == 200
    # The page size stays within bounds (at most 100 rows on a page).
    assert response.context["table"].paginator.per_page <= 100


def test_a_decision_with_a_return_address_that_is_not_a_path_goes_back_to_the_record(client, bank, manager):
    client.force_login(manager)
    url = reverse("accountability:record_decide", args=[bank.record.pk])
    response = client.post(url, {"decision": "honour", "seen_state": "proposed", "reason": "", "next": "x"})
    assert response.status_code == 302
    assert response["Location"] == bank.record.get_absolute_url()


@pytest.mark.parametrize("case", ["²", "¹²", "12abc", "-3", "0"])
def test_a_case_number_that_is_not_a_number_is_ignored_on_the_proposal_form(client, bank, manager, case):
    client.force_login(manager)
    response = client.get(reverse("accountability:record_new"), {"case": case})
    assert response.status_code == 200
    assert response.context["case"] is None


@pytest.mark.parametrize("sheet", ["\x00", "loans\x00", "nonsense"])
def test_an_import_page_with_a_sheet_that_does_not_exist_shows_the_loans_sheet(client, bank, admin_user, sheet):
    client.force_login(admin_user)
    response = client.get(reverse("loans:import_detail", args=[bank.batch.pk]), {"sheet": sheet})
    assert response.status_code == 200
    assert response.context["sheet"] == "loans"


# --- the fuzz test -------------------------------------------------------------------------------

# Personas of the fuzz (the permission matrix adds the out-of-scope ones).
FUZZ_PERSONAS = ["anonymous", "officer", "manager", "admin", "auditor"]
# Each example visits every URL once with GET and once with POST; NPL_FUZZ_EXAMPLES=50 digs deeper.
FUZZ_EXAMPLES = int(os.environ.get("NPL_FUZZ_EXAMPLES", "3"))
# Query parameters the site's links and lists read besides their forms' fields.
COMMON_PARAMS = {"page", "per_page", "sort", "next", "case", "sheet", "q", "export", "tab", "show", "current"}
# Values that broke pages before, or that a parser might choke on.
NASTY = [
    "",
    "-1",
    "0",
    "1",
    "²",
    "\x00",
    "x",
    "//evil.example/",
    "https://evil.example/",
    "javascript:alert(1)",
    "1e9",
    "NaN",
    "9" * 30,
    "2026-02-30",
    "9999-12-31",
    "0001-01-01",
    "<script>alert(1)</script>",
    "' OR 1=1 --",
    "../../etc/passwd",
    "%00",
    " ",
    "csv",
    "xlsx",
]


class _FormsAndLinks(HTMLParser):
    """The fields of every form on a page (by the URL they go to) and the query keys of its links."""

    def __init__(self, page_path: str) -> None:
        super().__init__()
        self.page_path = page_path
        self.fields: dict[tuple[str, str], set[str]] = {}  # (path, method) -> field names
        self.values: dict[str, set[str]] = {}  # field name -> values seen on the page
        self.link_keys: dict[str, set[str]] = {}  # path -> query keys
        self._form: tuple[str, str] | None = None
        self._select: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            action = urlparse(a.get("action") or a.get("hx-post") or self.page_path)
            self._form = (action.path or self.page_path, (a.get("method") or "get").upper())
            self.fields.setdefault(self._form, set())
        elif tag in ("input", "select", "textarea", "button") and a.get("name") and self._form:
            self.fields[self._form].add(a["name"])
            if a.get("value"):
                self.values.setdefault(a["name"], set()).add(a["value"])
            self._select = a["name"] if tag == "select" else None
        elif tag == "option" and self._select and a.get("value"):
            self.values.setdefault(self._select, set()).add(a["value"])
        elif tag == "a" and "?" in a.get("href", ""):
            href = urlparse(a["href"])
            keys = {kv.split("=", 1)[0] for kv in href.query.split("&") if kv}
            self.link_keys.setdefault(href.path or self.page_path, set()).update(keys)

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None


class SiteForms:
    """What the site's own pages send to each URL name: GET keys, POST fields, and sample values."""

    def __init__(self) -> None:
        self.get_keys: dict[str, set[str]] = {}
        self.post_fields: dict[str, set[str]] = {}
        self.values: dict[str, set[str]] = {}

    def read(self, html: str, page_path: str) -> None:
        parser = _FormsAndLinks(page_path)
        parser.feed(html)
        for (path, method), names in parser.fields.items():
            name = _url_name(path)
            if name:
                target = self.post_fields if method == "POST" else self.get_keys
                target.setdefault(name, set()).update(names)
        for path, keys in parser.link_keys.items():
            name = _url_name(path)
            if name:
                self.get_keys.setdefault(name, set()).update(keys)
        for field, values in parser.values.items():
            self.values.setdefault(field, set()).update(values)


def _url_name(path: str) -> str | None:
    try:
        match = resolve(path)
    except Resolver404:
        return None
    return match.view_name


_SITE_FORMS: SiteForms | None = None


def site_forms(bank) -> SiteForms:
    """Crawl every page once (as the personas who see the most forms) and remember what they send."""
    global _SITE_FORMS
    if _SITE_FORMS is None:
        forms = SiteForms()
        for persona in ("officer", "manager", "admin"):
            client = Client()
            client.force_login(bank.personas[persona])
            for name in url_names():
                if name == "logout":
                    continue
                path = reverse(name, kwargs=PATH_ARGS[name](bank))
                response = client.get(path)
                if response.status_code == 200 and "html" in response.get("Content-Type", ""):
                    forms.read(response.content.decode(), path)
        _SITE_FORMS = forms
    return _SITE_FORMS


def _value(data, forms: SiteForms, field: str) -> str:
    seen = sorted(forms.values.get(field, ()))
    choices = [st.sampled_from(NASTY), st.text(max_size=30)]
    if seen:
        choices.insert(0, st.sampled_from(seen))
    return data.draw(st.one_of(*choices), label=field)


def _params(data, forms: SiteForms, keys: set[str]) -> dict[str, str]:
    chosen = data.draw(st.lists(st.sampled_from(sorted(keys)), unique=True, max_size=len(keys)))
    return {key: _value(data, forms, key) for key in chosen}


def test_every_url_pattern_has_its_path_arguments():
    missing = [name for name in url_names() if name not in PATH_ARGS]
    assert not missing, f"Add these URLs to PATH_ARGS in tests/security/conftest.py: {missing}"


@pytest.mark.parametrize("persona", FUZZ_PERSONAS)
def test_random_query_parameters_and_form_values_never_make_a_server_error(bank, persona):
    forms = site_forms(bank)
    # The logout comes last: after it the persona is anonymous.
    names = sorted(url_names(), key=lambda n: n == "logout")
    client = Client()
    user = bank.personas[persona]

    @settings(
        max_examples=FUZZ_EXAMPLES,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(data=st.data())
    def fuzz(data) -> None:
        # Every example starts from the same bank: what it wrote is rolled back.
        with transaction.atomic():
            visit_all(data)
            transaction.set_rollback(True)

    def visit_all(data) -> None:
        if user is not None:
            client.force_login(user)
        for name in names:
            path = reverse(name, kwargs=PATH_ARGS[name](bank))
            htmx = {"HTTP_HX_REQUEST": "true"} if data.draw(st.booleans(), label="htmx") else {}
            query = _params(data, forms, forms.get_keys.get(name, set()) | COMMON_PARAMS)
            response = client.get(path, query, **htmx)
            assert response.status_code < 500, f"GET {path} {query!r} as {persona}: {response.status_code}"
            body = _params(data, forms, forms.post_fields.get(name, set()) | {"next", "reason"})
            response = client.post(path, body, **htmx)
            assert response.status_code < 500, f"POST {path} {body!r} as {persona}: {response.status_code}"

    fuzz()
