"""The spywatcher policy pack: `pulumi preview --policy-pack policy` (see docs/security.md)."""

from pulumi_policy import EnforcementLevel, PolicyPack
from spywatcher_policies import POLICIES

PolicyPack(name="spywatcher", enforcement_level=EnforcementLevel.MANDATORY, policies=POLICIES)
