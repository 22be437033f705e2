"""Form submissions of the case page: each record form carries a key drawn when it is shown, so
the same form sent twice records once."""

from __future__ import annotations

import uuid
from typing import Any

from django import forms
from django.db import IntegrityError, transaction
from django.utils.translation import gettext_lazy as _

from collections_app.models import CollectionCase, FormSubmission

SUBMISSION_FIELD = "submission_key"


def with_submission_key(form: forms.Form) -> forms.Form:
    """Add the hidden key field to a record form; a new key is drawn each time the form is shown."""
    form.fields[SUBMISSION_FIELD] = forms.UUIDField(
        widget=forms.HiddenInput,
        required=False,
        initial=uuid.uuid4,
        error_messages={"invalid": _("This form is out of date: reload the page and fill it in again.")},
    )
    return form


def submission_claim(*, key: uuid.UUID | None, case: CollectionCase, kind: str, actor: Any) -> bool:
    """Claim a form's key; False when the same form was recorded before.

    Call it inside the transaction that writes what the form records: when that write fails, the
    claim is rolled back with it and the corrected form can be sent again. Two sends at the same
    moment: the second waits for the first to commit, then finds the key taken. A form without a
    key (an older page) is not checked.
    """
    if key is None:
        return True
    try:
        with transaction.atomic():
            FormSubmission.objects.create(key=key, case=case, kind=kind[:20], submitted_by=actor)
    except IntegrityError:
        return False
    return True
