"""The spywatcher policy pack: `pulumi preview --policy-pack policy` (see the README)."""

from pulumi_policy import EnforcementLevel, PolicyPack
from spywatcher_policies import POLICIES

PolicyPack(name="spywatcher", enforcement_level=EnforcementLevel.MANDATORY, policies=POLICIES)
