"""`{% load permissions %}{% if user|can:"accountability.view_board" %}`: the role permissions of
loans/permissions.py in templates, answered without a database query."""

from __future__ import annotations

from typing import Any

from django import template

from loans.permissions import role_allows

register = template.Library()


@register.filter
def can(user: Any, perm: str) -> bool:
    return role_allows(user, perm)
