"""Push protection (issue 14 section 2): protected branches, secret scanning, file size."""

from gitserver.protection.rules import BranchRule, PushRules
from gitserver.protection.service import BYPASS_OPTION, PushProtection, PushRulesView, Verdict

__all__ = ["BYPASS_OPTION", "BranchRule", "PushProtection", "PushRules", "PushRulesView", "Verdict"]
