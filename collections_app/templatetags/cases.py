from django import template

from collections_app.models import CollectionCase

register = template.Library()


@register.simple_tag
def loan_case(loan) -> CollectionCase | None:
    """The loan's open case, else its latest one (for the loan page)."""
    return (
        CollectionCase.objects.filter(loan=loan)
        .order_by("-is_open", "-opened_on", "-id")
        .only("id", "measure", "is_open", "opened_on", "loan_id")
        .first()
    )
