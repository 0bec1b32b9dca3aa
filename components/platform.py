"""The whole stack: the Kubernetes provider, the namespace baseline and the workloads."""

from __future__ import annotations

import pulumi
from pulumi_kubernetes.provider import Provider

from config import StackSettings

from .namespace import NamespaceArgs, NamespaceBaseline
from .workload import Workload, WorkloadArgs


def instance_name(stack: str) -> str:
    """The `app.kubernetes.io/instance` of every object of a stack."""
    return f"spywatcher-{stack}"


class Platform(pulumi.ComponentResource):
    """Spywatcher on an existing EKS cluster, as one stack's settings describe it."""

    namespace: pulumi.Output[str]
    workloads: dict[str, Workload]

    def __init__(self, name: str, settings: StackSettings, opts: pulumi.ResourceOptions | None = None):
        super().__init__("spywatcher:platform:Platform", name, None, opts)
        instance = instance_name(pulumi.get_stack())
        cluster = settings.cluster
        kubeconfig = settings.kubeconfig
        provider = Provider(
            f"{name}-kubernetes",
            kubeconfig=pulumi.Output.secret(kubeconfig.get_secret_value()) if kubeconfig else None,
            context=cluster.context,
            enable_server_side_apply=True,
            opts=pulumi.ResourceOptions(parent=self),
        )
        k8s = pulumi.ResourceOptions(parent=self, provider=provider)

        namespace = NamespaceBaseline(
            "app",
            NamespaceArgs(settings.namespace, instance, cluster.kubernetes_version),
            opts=k8s,
        )
        self.workloads = {
            component: Workload(
                component,
                WorkloadArgs(
                    settings=workload,
                    namespace=settings.namespace.name,
                    instance=instance,
                    secret_values=settings.secret_values(component),
                ),
                opts=pulumi.ResourceOptions.merge(k8s, pulumi.ResourceOptions(depends_on=[namespace])),
            )
            for component, workload in settings.workloads().items()
        }
        self.namespace = namespace.name
        self.register_outputs({"namespace": self.namespace})
