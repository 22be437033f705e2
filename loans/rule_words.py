"""The classification rules in words a user reads, in their language.

The rules module (loans/classification.py) is pure Python and answers with stable rule codes
(`dpd_loss`, `upgrade_held`, ...); pages never show those codes: they show the words here.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from loans.classification import Classification, ClassificationPolicy, FiveLevel, FourLevel
from loans.models import FIVE_LEVEL_WORDS, FOUR_LEVEL_WORDS

# One line per rule code: what the rule is (for the classification history).
RULE_WORDS = {
    "not_overdue": _("Not overdue"),
    "technical_delay": _("Overdue a few days: a technical delay"),
    "dpd_overdue": _("Overdue: special mention"),
    "dpd_substandard": _("Overdue beyond the substandard threshold"),
    "dpd_doubtful": _("Overdue beyond the doubtful threshold"),
    "dpd_loss": _("Overdue beyond the loss threshold"),
    "written_off": _("Written off"),
    "restructured_observation": _("Restructured: in its observation period"),
    "manual": _("Classified by hand by a manager"),
    "upgrade_held": _("Upgrade held until arrears stay cleared"),
    "business_ceased": _("Borrower stopped operating"),
    "overdue_years": _("Overdue for years: idle"),
    "overdue": _("Overdue"),
}


def rule_words(code: str) -> str:
    return str(RULE_WORDS.get(code, code.replace("_", " ")))


def class_words(code: str | None) -> str:
    """A class code of either scheme in words ("" for none)."""
    if not code:
        return ""
    if code in FiveLevel._value2member_map_:
        return str(FIVE_LEVEL_WORDS[FiveLevel(code)])
    if code in FourLevel._value2member_map_:
        return str(FOUR_LEVEL_WORDS[FourLevel(code)])
    return code


def five_level_reason(c: Classification, policy: ClassificationPolicy, facts: Any) -> str:
    """Why the loan is in its five-level class, with the figures (the rules' own reason, translated)."""
    dpd = c.days_past_due
    rule = c.five_level_rule
    if rule in {"dpd_loss", "dpd_doubtful", "dpd_substandard"}:
        limit = {
            "dpd_loss": policy.loss_after_days,
            "dpd_doubtful": policy.doubtful_after_days,
            "dpd_substandard": policy.substandard_after_days,
        }[rule]
        return gettext("%(dpd)s days past due (more than %(limit)s)") % {"dpd": dpd, "limit": limit}
    if rule == "dpd_overdue":
        return gettext("%(dpd)s days past due") % {"dpd": dpd}
    if rule == "technical_delay":
        return gettext("%(dpd)s days past due, excused as a technical delay (up to %(days)s)") % {
            "dpd": dpd,
            "days": policy.technical_delay_days,
        }
    if rule == "upgrade_held":
        return gettext(
            "stays %(cls)s: a non-performing loan is upgraded only after arrears are cleared and stay cleared "
            "for %(months)s months"
        ) % {"cls": class_words(c.five_level), "months": policy.upgrade_wait_months}
    if rule == "restructured_observation" and getattr(facts, "restructured_on", None):
        return gettext("restructured on %(day)s, in its observation period") % {"day": facts.restructured_on}
    return rule_words(rule)


def four_level_reason(c: Classification) -> str:
    if c.four_level_rule == "overdue":
        return gettext("%(dpd)s days overdue") % {"dpd": c.days_past_due}
    return rule_words(c.four_level_rule)
