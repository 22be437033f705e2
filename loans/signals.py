from django.dispatch import Signal

# Sent on commit after loans change class. Keyword arguments: as_of (date), actor (User or None),
# became_non_performing (list of loan ids), left_non_performing (list of loan ids), and
# class_changed (list of loan ids whose five- or four-level class changed; may be absent).
loans_reclassified = Signal()

# Sent on commit after a borrower's insider / related-party flag changed. Keyword arguments:
# borrower_id (int), actor (User).
borrower_flags_changed = Signal()
