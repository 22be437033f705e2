"""Login against the bank's directory (LDAP, django-auth-ldap), off unless LDAP_SERVER_URI is set.

This module is read by the settings: it imports no model (the backend is accounts/backends.py).

The directory says who may log in and as what: membership of the groups named in
NPL_LDAP_ROLE_GROUPS gives the role, of those in NPL_LDAP_BRANCH_GROUPS the branch. Someone in
none of the role groups is refused. Local accounts (ModelBackend) keep working beside it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.core.exceptions import ImproperlyConfigured

# When someone is in several role groups, the widest role wins.
ROLE_ORDER = ("admin", "auditor", "manager", "officer")


def _dn(value: str) -> str:
    return value.strip().lower()


def role_and_branch(
    group_dns: Iterable[str], *, role_groups: Mapping[str, str], branch_groups: Mapping[str, str]
) -> tuple[str | None, str | None]:
    """The role and branch code a directory user's groups give (None: no group of that kind)."""
    groups = {_dn(g) for g in group_dns}
    roles = {role for dn, role in role_groups.items() if _dn(dn) in groups}
    role = next((r for r in ROLE_ORDER if r in roles), None)
    branches = sorted(code for dn, code in branch_groups.items() if _dn(dn) in groups)
    return role, (branches[0] if branches else None)


def check_mapping(role_groups: Mapping[str, str], branch_groups: Mapping[str, str]) -> None:
    """Refuse to start with a mapping that names a role that does not exist."""
    for dn, role in role_groups.items():
        if role not in ROLE_ORDER:
            raise ImproperlyConfigured(
                f"NPL_LDAP_ROLE_GROUPS[{dn!r}] = {role!r}: the role must be one of {', '.join(ROLE_ORDER)}."
            )
    for dn, code in branch_groups.items():
        if not isinstance(code, str) or not code:
            raise ImproperlyConfigured(f"NPL_LDAP_BRANCH_GROUPS[{dn!r}] must be a branch code.")


def ldap_settings(
    *,
    server_uri: str,
    bind_dn: str = "",
    bind_password: str = "",
    user_search_base: str,
    user_filter: str = "(uid=%(user)s)",
    group_search_base: str,
    role_groups: Mapping[str, str],
    start_tls: bool = False,
) -> dict[str, Any]:
    """The django-auth-ldap settings (AUTH_LDAP_*) for the bank's directory."""
    import ldap
    from django_auth_ldap.config import GroupOfNamesType, LDAPGroupQuery, LDAPSearch

    require = None
    for dn in role_groups:
        require = LDAPGroupQuery(dn) if require is None else require | LDAPGroupQuery(dn)
    return {
        "AUTH_LDAP_SERVER_URI": server_uri,
        "AUTH_LDAP_BIND_DN": bind_dn,
        "AUTH_LDAP_BIND_PASSWORD": bind_password,
        "AUTH_LDAP_START_TLS": start_tls,
        "AUTH_LDAP_USER_SEARCH": LDAPSearch(user_search_base, ldap.SCOPE_SUBTREE, user_filter),
        "AUTH_LDAP_GROUP_SEARCH": LDAPSearch(group_search_base, ldap.SCOPE_SUBTREE, "(objectClass=groupOfNames)"),
        "AUTH_LDAP_GROUP_TYPE": GroupOfNamesType(),
        # Only members of a group that gives a role may log in at all.
        "AUTH_LDAP_REQUIRE_GROUP": require,
        "AUTH_LDAP_USER_ATTR_MAP": {"first_name": "givenName", "last_name": "sn", "email": "mail"},
        "AUTH_LDAP_ALWAYS_UPDATE_USER": True,
        "AUTH_LDAP_CONNECTION_OPTIONS": {ldap.OPT_NETWORK_TIMEOUT: 5, ldap.OPT_TIMEOUT: 10},
    }
