"""Amounts and dates in the active language's form: {{ loan.outstanding_principal|money }}."""

from __future__ import annotations

from django import template

from npl_recovery.i18n import format_amount, format_day

register = template.Library()


@register.filter
def money(value):
    """¥1,234,567.89"""
    return format_amount(value, currency=True)


@register.filter
def amount(value):
    """1,234,567.89 (in tables whose header names the currency)."""
    return format_amount(value)


@register.filter
def day(value):
    """2026年12月2日 / 2 Dec 2026"""
    return format_day(value)


@register.filter
def shortday(value):
    """2026-12-02, never wrapped."""
    return format_day(value, short=True)
