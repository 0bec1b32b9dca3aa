"""Progressive delivery of the backend with Argo Rollouts (v1.9, chart argo-rollouts 2.41.0).

- :class:`RolloutServices`: the stable and canary Services, registered before the routes (the
  route's Ingress then sends to the stable Service);
- :class:`Rollouts`: the controller (namespace, NetworkPolicies, its Role in the app's namespace,
  the pinned Helm release), the AnalysisTemplate, the `Rollout` with `workloadRef` to the backend
  Deployment, and the RolloutAborted alert. Registered after the routes and the backend: the
  Rollout names the route's Ingress and the Deployment.

Every object is a pure builder's dict, checked against the real upstream CRDs and chart values by
the tests; the rules that keep Pulumi and the controller from fighting are in canary.py's docstring
and offline/rollout_rules.py.
"""

from __future__ import annotations

import pulumi

from ..k8s import child_opts, helm_release, register
from .args import CHART, RELEASE, RolloutsArgs
from .canary import build_analysis_template, build_prometheus_rule, build_rollout, build_services
from .controller import build_app_rbac, build_namespace, build_network_policies, build_values

__all__ = ["RolloutServices", "Rollouts", "RolloutsArgs"]


class RolloutServices(pulumi.ComponentResource):
    """The Services the Rollout points at its stable and canary ReplicaSets."""

    resources: list[pulumi.Resource]

    def __init__(self, name: str, args: RolloutsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("spywatcher:rollouts:RolloutServices", name, None, opts)
        # The controller owns the selector once it adds the ReplicaSet's hash (see canary.py).
        self.resources = [
            register(service, f"{name}-{service['metadata']['name']}",
                     child_opts(self, opts, ignore_changes=["spec.selector"]))
            for service in build_services(args)
        ]
        self.register_outputs({})


class Rollouts(pulumi.ComponentResource):
    """The Argo Rollouts controller and the backend's Rollout, analysed on Prometheus."""

    rollout_name: str

    def __init__(self, name: str, args: RolloutsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("spywatcher:rollouts:Rollouts", name, None, opts)
        settings = args.settings
        namespace = register(build_namespace(args), f"{name}-namespace", child_opts(self, opts))
        first: list[pulumi.Resource] = [namespace]
        for policy in build_network_policies(args):
            suffix = policy["metadata"]["name"].removeprefix("spywatcher-")
            first.append(register(policy, f"{name}-{suffix}", child_opts(self, opts, depends_on=[namespace])))
        for obj in build_app_rbac(args):
            first.append(register(obj, f"{name}-{obj['kind'].lower()}", child_opts(self, opts)))
        release = helm_release(
            f"{name}-controller",
            release=RELEASE,
            chart=CHART,
            version=settings.controller.chart_version,
            repository=settings.controller.chart_repository,
            namespace=settings.controller.namespace,
            values=build_values(args),
            opts=child_opts(self, opts, depends_on=first),
        )
        template = register(build_analysis_template(args), f"{name}-analysis", child_opts(self, opts))
        # `pulumi up` waits for the canary (the waitFor annotation) as long as its steps may take.
        timeout = f"{settings.timeout_seconds(args.backend.settings.rollout.progress_deadline_seconds)}s"
        register(
            build_rollout(args),
            f"{name}-backend",
            child_opts(
                self,
                opts,
                depends_on=[release, template],
                custom_timeouts=pulumi.CustomTimeouts(create=timeout, update=timeout),
            ),
        )
        rule = build_prometheus_rule(args)
        if rule is not None:
            register(rule, f"{name}-alerts", child_opts(self, opts))
        self.rollout_name = args.rollout_name
        self.register_outputs({"rolloutName": self.rollout_name})
