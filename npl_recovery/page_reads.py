"""One read per query on a page that shows the same rows several times (issue 15, the case page).

The case page lists the loan's guarantees, collateral, the case's proceedings and documents, and
its record forms offer the same rows again as choices (a demand names a guarantee, a legal step a
proceeding and a collateral, a receipt a notice...): each form field would read them once more.
Within `shared_reads()` (the case page's GET, rendering included: nothing is written meanwhile),
`read_once(queryset)` evaluates a queryset once per SQL text, and `share_choices(form)` makes the
form's model choice fields read through it. Outside `shared_reads()` both read as usual.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from django.forms import BaseForm, ModelChoiceField
from django.forms.models import ModelChoiceIterator

_reads: ContextVar[dict | None] = ContextVar("page_reads", default=None)


@contextmanager
def shared_reads() -> Iterator[None]:
    token = _reads.set({})
    try:
        yield
    finally:
        _reads.reset(token)


def read_once(queryset: Any) -> list[Any]:
    """The queryset's rows; within shared_reads, read once per SQL text (and prefetches: a list
    read with more prefetched relations serves a queryset asking for fewer)."""
    cache = _reads.get()
    if cache is None:
        return list(queryset)
    sql, params = queryset.query.sql_with_params()
    key = (queryset.db, queryset.model, sql, repr(params))
    wanted = set(queryset._prefetch_related_lookups)
    for lookups, rows in cache.get(key, ()):
        if wanted <= lookups:
            return rows
    rows = list(queryset)
    cache.setdefault(key, []).append((wanted, rows))
    return rows


class SharedChoiceIterator(ModelChoiceIterator):
    """ModelChoiceIterator over `read_once(queryset)`."""

    def _rows(self) -> list[Any]:
        return read_once(self.queryset)

    def __iter__(self):
        if self.field.empty_label is not None:
            yield ("", self.field.empty_label)
        for obj in self._rows():
            yield self.choice(obj)

    def __len__(self) -> int:
        return len(self._rows()) + (self.field.empty_label is not None)

    def __bool__(self) -> bool:
        return self.field.empty_label is not None or bool(self._rows())


def share_choices(form: BaseForm) -> BaseForm:
    """Let the form's model choice fields read their rows through read_once."""
    for field in form.fields.values():
        if isinstance(field, ModelChoiceField):
            field.iterator = SharedChoiceIterator
            field.widget.choices = field.choices
    return form
