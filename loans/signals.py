from django.dispatch import Signal

# Sent on commit after loans change class. Keyword arguments: as_of (date), actor (User or None),
# became_non_performing (list of loan ids), left_non_performing (list of loan ids).
loans_reclassified = Signal()
