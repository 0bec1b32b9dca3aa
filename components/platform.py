"""The whole stack: providers, the namespace baseline, the workloads and the traffic path."""

from __future__ import annotations

import pulumi
from pulumi_aws.provider import Provider as AwsProvider
from pulumi_kubernetes.provider import Provider

from config import StackSettings

from .canary import Canary, CanaryArgs
from .cloudwatch import CloudWatch, CloudWatchArgs, TargetPlane
from .cni import check_enforcement
from .dashboards import DashboardArgs, GrafanaDashboard
from .gateway import Gateway, GatewayArgs
from .gateway.args import PROXY_METRICS_PORT
from .gateway.controller import proxy_pod_selector, target_service_name
from .ingress_controller import (
    CONTROLLER_SELECTOR,
    PROXY_PORT,
    STATUS_PORT,
    TARGET_SERVICE,
    WEBHOOK_JOB_SELECTOR,
    WEBHOOK_PORT,
    IngressController,
    IngressControllerArgs,
)
from .k8s import PART_OF
from .load_balancer import LoadBalancer, LoadBalancerArgs
from .migration import COMPONENT as MIGRATION
from .migration import Migration, MigrationArgs
from .monitoring import DataPlaneScrape, Monitoring, MonitoringArgs
from .namespace import NamespaceArgs, NamespaceBaseline
from .network_policy import ControllerNetworkArgs, NetworkPolicies, NetworkPolicyArgs
from .rollouts import Rollouts, RolloutsArgs, RolloutServices
from .routes import Routes, RoutesArgs, ingress_name
from .schedules import ScaleSchedules, ScheduleArgs
from .workload import Workload, WorkloadArgs, WorkloadConfig


def instance_name(stack: str) -> str:
    """The `app.kubernetes.io/instance` of every object of a stack."""
    return f"spywatcher-{stack}"


class Platform(pulumi.ComponentResource):
    """Spywatcher on an existing EKS cluster, as one stack's settings describe it."""

    namespace: pulumi.Output[str]
    workloads: dict[str, Workload]
    load_balancer: LoadBalancer
    hosts: list[str]

    def __init__(self, name: str, settings: StackSettings, opts: pulumi.ResourceOptions | None = None):
        super().__init__("spywatcher:platform:Platform", name, None, opts)
        stack = pulumi.get_stack()
        instance = instance_name(stack)
        cluster = settings.cluster
        kubeconfig = settings.kubeconfig
        kubernetes = Provider(
            f"{name}-kubernetes",
            kubeconfig=pulumi.Output.secret(kubeconfig.get_secret_value()) if kubeconfig else None,
            # A kubeconfig given as a secret is used with its own current context: the stack file's
            # `cluster.context` names a context of the local kubeconfig, which that one need not have.
            context=cluster.context if kubeconfig is None else None,
            enable_server_side_apply=True,
            # A ConfigMap or Secret is updated in place instead of deleted and created again under its
            # fixed name (a pod starting in between would fail): its pods roll out through the
            # `checksum/config` annotation, with the new config (docs/traffic.md#config-and-secret-changes).
            enable_config_map_mutable=True,
            enable_secret_mutable=True,
            opts=pulumi.ResourceOptions(parent=self),
        )
        tags = {"app.kubernetes.io/part-of": "spywatcher", "spywatcher/stack": stack, "spywatcher/managed-by": "pulumi"}
        aws = AwsProvider(
            f"{name}-aws", region=cluster.region, default_tags={"tags": tags}, opts=pulumi.ResourceOptions(parent=self)
        )
        k8s = pulumi.ResourceOptions(parent=self, provider=kubernetes)
        if settings.network_policy.enabled and settings.network_policy.enforced_by == "vpc-cni":
            # Before any Kubernetes object: a cluster that would ignore the policies stops the run here.
            check_enforcement(cluster, aws)

        namespace = NamespaceBaseline(
            "app",
            NamespaceArgs(settings.namespace, instance, cluster.kubernetes_version),
            opts=k8s,
        )
        workload_args = {
            component: WorkloadArgs(
                settings=workload,
                namespace=settings.namespace.name,
                instance=instance,
                secret_values=settings.secret_values(component),
                rollout=component == "backend" and settings.rollouts.enabled,
            )
            for component, workload in settings.workloads().items()
        }
        serving = {args.component: args.settings.container_port for args in workload_args.values()}
        backend = workload_args["backend"]
        backend_components: tuple[str, ...] = (backend.component,)
        if settings.canary.enabled:
            serving[f"{backend.component}-canary"] = backend.settings.container_port
            backend_components += (f"{backend.component}-canary",)
        nginx_on, gateway_on = settings.ingress_controller.enabled, settings.gateway.enabled
        routes_args = RoutesArgs(
            settings.routing, settings.ingress_controller.ingress_class, workload_args, instance, ingresses=nginx_on
        )
        gateway_args = GatewayArgs(
            settings=settings.gateway,
            defaults=settings.ingress_controller,
            load_balancer=settings.load_balancer,
            routes=routes_args,
            canary=settings.canary,
            canary_service=f"{backend.name}-canary" if settings.canary.enabled else None,
            network=settings.network_policy,
            serving=serving,
            app_namespace=settings.namespace.name,
            monitoring_namespace=settings.monitoring.namespace,
            prometheus_labels=settings.monitoring.prometheus_pod_labels,
            kubernetes_version=cluster.kubernetes_version,
            instance=instance,
        )
        isolation = NetworkPolicies(
            "network",
            NetworkPolicyArgs(
                settings=settings.network_policy,
                namespace=settings.namespace.name,
                instance=instance,
                serving=serving,
                backend_components=backend_components,
                schedule_components=tuple(
                    f"{args.component}-schedule" for args in workload_args.values() if args.settings.schedules
                ),
                controller_namespace=settings.ingress_controller.namespace,
                controller_labels=CONTROLLER_SELECTOR,
                monitoring_namespace=settings.monitoring.namespace,
                metrics_port=backend.settings.metrics_port or backend.settings.container_port,
                prometheus_labels=settings.monitoring.prometheus_pod_labels,
                vpc_cidr=cluster.vpc_cidr,
                service_cidrs=cluster.service_cidrs,
                nginx=nginx_on,
                gateway_proxies=(
                    (settings.gateway.proxy_namespace, proxy_pod_selector(gateway_args)) if gateway_on else None
                ),
                migration=(
                    (MIGRATION, tuple(settings.migration.data_stores)) if settings.migration.enabled else None
                ),
            ),
            opts=pulumi.ResourceOptions.merge(k8s, pulumi.ResourceOptions(depends_on=[namespace])),
        )
        # What the pods read exists before any pod: each workload's ConfigMap and Secret first (after
        # the namespace), then the migration Job that reads the backend's, then the Deployments
        # (the backend only once the migration has completed). Pods start only once the network
        # policies exist.
        configs = {
            component: WorkloadConfig(
                component, args, opts=pulumi.ResourceOptions.merge(k8s, pulumi.ResourceOptions(depends_on=[namespace]))
            )
            for component, args in workload_args.items()
        }
        first: dict[str, list[pulumi.Resource]] = {
            name: [namespace, isolation, configs[name]] for name in workload_args
        }
        if settings.migration.enabled:
            migration = Migration(
                "migration",
                MigrationArgs(workload_args["backend"], settings.migration),
                opts=pulumi.ResourceOptions.merge(
                    k8s, pulumi.ResourceOptions(depends_on=[namespace, isolation, configs["backend"]])
                ),
            )
            first["backend"].append(migration)
        self.workloads = {
            component: Workload(
                component,
                args,
                configs[component],
                opts=pulumi.ResourceOptions.merge(k8s, pulumi.ResourceOptions(depends_on=first[component])),
            )
            for component, args in workload_args.items()
        }
        for component, args in workload_args.items():
            if args.settings.schedules:
                ScaleSchedules(
                    f"{component}-schedules",
                    ScheduleArgs(args, settings.scheduling),
                    opts=pulumi.ResourceOptions.merge(
                        k8s, pulumi.ResourceOptions(depends_on=[self.workloads[component]])
                    ),
                )
        hosts = tuple(sorted(set(settings.routing.used_hosts().values())))
        self.load_balancer = LoadBalancer(
            "edge",
            LoadBalancerArgs(
                settings.load_balancer,
                cluster.vpc_id,
                cluster.vpc_cidr,
                hosts,
                nginx=nginx_on,
                gateway_port=settings.gateway.container_port if gateway_on else None,
                label=instance,
                canary_header=settings.canary.header if settings.canary.enabled else None,
                canary_header_cidrs=tuple(settings.canary.header_source_cidrs),
            ),
            opts=pulumi.ResourceOptions(parent=self, provider=aws),
        )
        controllers: list[pulumi.Resource] = []
        if nginx_on:
            controllers.append(
                IngressController(
                    "ingress",
                    IngressControllerArgs(
                        settings.ingress_controller,
                        settings.load_balancer,
                        cluster.vpc_cidr,
                        cluster.kubernetes_version,
                        instance,
                        watch_namespace=settings.namespace.name,
                    ),
                    target_group_arn=self.load_balancer.target_group_arns["nginx"],
                    security_group_id=self.load_balancer.security_group_id,
                    network=ControllerNetworkArgs(
                        settings=settings.network_policy,
                        namespace=settings.ingress_controller.namespace,
                        instance=instance,
                        controller_labels=CONTROLLER_SELECTOR,
                        webhook_job_labels=WEBHOOK_JOB_SELECTOR,
                        proxy_port=PROXY_PORT,
                        webhook_port=WEBHOOK_PORT,
                        metrics_port=STATUS_PORT,
                        load_balancer_cidrs=tuple(settings.load_balancer.subnet_cidrs),
                        monitoring_namespace=settings.monitoring.namespace,
                        prometheus_labels=settings.monitoring.prometheus_pod_labels,
                        app_namespace=settings.namespace.name,
                        app_pod_labels={"app.kubernetes.io/name": PART_OF, "app.kubernetes.io/instance": instance},
                        serving_ports=tuple(serving.values()),
                    ),
                    # Its Role and RoleBinding live in the app namespace.
                    opts=pulumi.ResourceOptions.merge(k8s, pulumi.ResourceOptions(depends_on=[namespace])),
                )
            )
        rollouts = None
        before_routes: list[pulumi.Resource] = []
        if settings.rollouts.enabled:
            monitoring = settings.monitoring
            rollouts = RolloutsArgs(
                settings=settings.rollouts,
                backend=backend,
                routes=routes_args,
                network=settings.network_policy,
                monitoring_namespace=monitoring.namespace,
                prometheus_labels=monitoring.prometheus_pod_labels,
                rule_labels=monitoring.rule_labels,
                scrape=monitoring.service_monitor.enabled,
                alerts=monitoring.alerts.enabled,
                runbook_base_url=monitoring.alerts.runbook_base_url,
                ingress_controller_namespace=settings.ingress_controller.namespace,
                kubernetes_version=cluster.kubernetes_version,
                instance=instance,
            )
            # The route's Ingress sends to the stable Service: it exists first.
            before_routes.append(
                RolloutServices(
                    "rollout-services",
                    rollouts,
                    opts=pulumi.ResourceOptions.merge(k8s, pulumi.ResourceOptions(depends_on=[namespace])),
                )
            )
        # Ingresses wait for the controller: its admission webhook validates them.
        routes = Routes(
            "routes",
            routes_args,
            opts=pulumi.ResourceOptions.merge(
                k8s,
                pulumi.ResourceOptions(
                    depends_on=[namespace, *controllers, *self.workloads.values(), *before_routes]
                ),
            ),
        )
        if rollouts is not None:
            # The Rollout names the Deployment, the Services and the route's Ingress.
            Rollouts(
                "rollouts",
                rollouts,
                opts=pulumi.ResourceOptions.merge(
                    k8s,
                    pulumi.ResourceOptions(depends_on=[namespace, routes, self.workloads["backend"], *before_routes]),
                ),
            )
        served: list[pulumi.Resource] = [routes, *self.workloads.values()]
        if settings.canary.enabled:
            served.append(
                Canary(
                    "canary",
                    CanaryArgs(settings.canary, workload_args["backend"], routes_args),
                    opts=pulumi.ResourceOptions.merge(
                        k8s, pulumi.ResourceOptions(depends_on=[routes, configs["backend"]])
                    ),
                )
            )
        # HTTPRoutes wait for the Services they send traffic to.
        if gateway_on:
            gateway = Gateway(
                "gateway",
                gateway_args,
                target_group_arn=self.load_balancer.target_group_arns["envoy"],
                security_group_id=self.load_balancer.security_group_id,
                workloads=served,
                opts=pulumi.ResourceOptions.merge(k8s, pulumi.ResourceOptions(depends_on=[namespace])),
            )
            controllers.append(gateway)
        # Each data plane's scrape lives in its namespace: after the component that creates it.
        planes = []
        if nginx_on:
            planes.append(DataPlaneScrape("ingress-nginx", settings.ingress_controller.namespace, CONTROLLER_SELECTOR,
                                          STATUS_PORT))
        if gateway_on:
            planes.append(DataPlaneScrape("envoy", settings.gateway.proxy_namespace, proxy_pod_selector(gateway_args),
                                          PROXY_METRICS_PORT))
        Monitoring(
            "monitoring",
            MonitoringArgs(settings.monitoring, settings.namespace.name, instance, backend, tuple(planes)),
            opts=pulumi.ResourceOptions.merge(k8s, pulumi.ResourceOptions(depends_on=[namespace, *controllers])),
        )
        if settings.monitoring.dashboard.enabled:
            GrafanaDashboard(
                "dashboard",
                DashboardArgs(
                    settings.monitoring.dashboard,
                    settings.namespace.name,
                    instance,
                    tuple((c, f"{args.name}-hpa") for c, args in workload_args.items()),
                    settings.ingress_controller.namespace if nginx_on else None,
                    tuple((r.name, ingress_name(r)) for r in settings.routing.routes),
                    settings.gateway.proxy_namespace if gateway_on else None,
                    tuple(ingress_name(r) for r in settings.routing.routes),  # the HTTPRoutes' names too
                ),
                opts=k8s,
            )
        if settings.monitoring.cloud_watch.enabled:
            target_planes, services = [], [(settings.namespace.name, args.name) for args in workload_args.values()]
            if nginx_on:
                target_planes.append(TargetPlane("nginx", "ingress-nginx controller pod", "ingress-nginx's",
                                                 settings.ingress_controller.autoscaling.min_replicas))
                services.append((settings.ingress_controller.namespace, TARGET_SERVICE))
            if gateway_on:
                target_planes.append(TargetPlane("envoy", "Envoy proxy pod", "the Envoy proxies'",
                                                 settings.gateway.autoscaling.min_replicas))
                services.append((settings.gateway.proxy_namespace, target_service_name(gateway_args)))
            CloudWatch(
                "cloudwatch",
                CloudWatchArgs(
                    settings.monitoring.cloud_watch,
                    settings.load_balancer.type,
                    cluster.region,
                    instance,
                    tuple(target_planes),
                    settings.monitoring.alerts.runbook_base_url,
                    cluster=cluster.name,
                    services=tuple(services),
                ),
                self.load_balancer.arn_suffix,
                self.load_balancer.target_group_arn_suffixes,
                opts=pulumi.ResourceOptions(parent=self, provider=aws),
            )
        self.namespace = namespace.name
        self.hosts = list(hosts)
        self.register_outputs({"namespace": self.namespace, "loadBalancerDnsName": self.load_balancer.dns_name})
