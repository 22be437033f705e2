"""Signals of the ledger, for the apps that build on it (accountability: rewards after an approval)."""

from django.dispatch import Signal

# Sent when a manager approved or refused a backdated entry, with `entry` (LedgerEntry).
entry_decided = Signal()
