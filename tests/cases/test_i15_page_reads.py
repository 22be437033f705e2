"""Issue 15: the case page reads the rows it shows several times once (npl_recovery/page_reads.py)."""

from __future__ import annotations

import pytest
from django import forms

from loans.models import Guarantee
from npl_recovery.page_reads import read_once, share_choices, shared_reads
from tests.factories import GuaranteeFactory

pytestmark = pytest.mark.django_db


class _Pick(forms.Form):
    guarantee = forms.ModelChoiceField(queryset=Guarantee.objects.select_related("guarantor", "loan").order_by("id"))


def test_within_shared_reads_one_query_serves_the_list_and_every_forms_choices(case, django_assert_num_queries):
    GuaranteeFactory(loan=case.loan)
    GuaranteeFactory(loan=case.loan)
    with shared_reads(), django_assert_num_queries(1):
        rows = read_once(Guarantee.objects.select_related("guarantor", "loan").order_by("id"))
        first, second = share_choices(_Pick()), share_choices(_Pick(prefix="b"))
        html = str(first["guarantee"]) + str(second["guarantee"])
    assert len(rows) == 2 and html.count("<option") == 6  # the empty choice and two guarantees, twice


def test_outside_shared_reads_each_read_is_a_query(case, django_assert_num_queries):
    GuaranteeFactory(loan=case.loan)
    with django_assert_num_queries(2):
        read_once(Guarantee.objects.all())
        read_once(Guarantee.objects.all())


def test_a_list_without_the_prefetch_asked_for_is_not_reused(case, django_assert_num_queries):
    GuaranteeFactory(loan=case.loan)
    with shared_reads(), django_assert_num_queries(3):
        read_once(Guarantee.objects.all())  # 1
        read_once(Guarantee.objects.prefetch_related("loan"))  # 2 and its prefetch: 3
        read_once(Guarantee.objects.all())  # served by either
