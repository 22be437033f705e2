"""The directory login backend (see accounts/directory.py for the settings and the group rules)."""

from __future__ import annotations

from django.conf import settings
from django_auth_ldap.backend import LDAPBackend

from accounts.directory import role_and_branch
from accounts.services import user_sync_from_directory


class DirectoryBackend(LDAPBackend):
    """django-auth-ldap's backend; after the directory said yes, the user's role and branch are
    set from their groups (accounts.services.user_sync_from_directory, audited)."""

    def authenticate_ldap_user(self, ldap_user, password):
        user = super().authenticate_ldap_user(ldap_user, password)
        if user is None:
            return None
        role, branch_code = role_and_branch(
            ldap_user.group_dns,
            role_groups=settings.NPL_LDAP_ROLE_GROUPS,
            branch_groups=settings.NPL_LDAP_BRANCH_GROUPS,
        )
        if role is None:
            return None
        return user_sync_from_directory(user=user, role=role, branch_code=branch_code)
