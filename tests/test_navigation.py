import pytest

from npl_recovery.navigation import items_for


@pytest.mark.django_db
def test_only_the_most_specific_menu_entry_is_lit(admin_user):
    def active(path: str) -> list[str]:
        return [e["label"] for e in items_for(admin_user, path) if e["active"]]

    assert active("/loans/import/") == ["Import"]
    assert active("/loans/12/") == ["Loans"]
    assert active("/") == ["Dashboard"]
