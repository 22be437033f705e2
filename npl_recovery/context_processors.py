from __future__ import annotations

from django.http import HttpRequest

from accounts.two_factor import two_factor_pending


def navigation(request: HttpRequest) -> dict:
    """Navigation entries for the base layout; other apps add theirs through NAV_ITEMS."""
    from npl_recovery.navigation import items_for

    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or two_factor_pending(user):
        return {"nav_items": []}
    return {"nav_items": items_for(user, request.path)}
