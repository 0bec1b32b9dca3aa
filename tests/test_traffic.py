"""The traffic path, asserted on what each stack registers: load balancer → ingress-nginx → routes."""

from __future__ import annotations

from typing import Any

import pytest

from offline.engine import DELETE, Plan, Registration, run_stack
from offline.schema import check_objects
from tests.conftest import behind_nlb, config_error, problem_for

NAMESPACE = {"production": "spywatcher", "staging": "spywatcher-staging"}
HOSTS = {
    "production": ("spywatcher.example.com", "api.spywatcher.example.com"),
    "staging": ("staging.spywatcher.example.com", "api.staging.spywatcher.example.com"),
}
NGINX = "nginx.ingress.kubernetes.io"
# Every route's default per-client limits (routing.routes[].clientLimits).
LIMITS = {f"{NGINX}/limit-connections": "50", f"{NGINX}/limit-rps": "50"}
# The Ingress objects of the default routes (a loop over them must not be empty). Sorted: the
# order in which the engine registers resources depends on when their inputs resolve.
ROUTE_INGRESSES = ["spywatcher-api", "spywatcher-frontend", "spywatcher-socketio"]

# The stack files' subnets and certificates; the ids AWS would assign are offline/mock_outputs.py's.
SUBNETS = {"staging": ["subnet-0f1e2d3c4b5a60001", "subnet-0f1e2d3c4b5a60002"],
           "production": ["subnet-0a1b2c3d4e5f60001", "subnet-0a1b2c3d4e5f60002", "subnet-0a1b2c3d4e5f60003"]}
CERTIFICATES = {"staging": "arn:aws:acm:us-east-1:111122223333:certificate/7c1d2e3f-4a5b-4c6d-8e9f-0a1b2c3d4e5f",
                "production": "arn:aws:acm:us-east-1:111122223333:certificate/0b6e8f1c-2d4a-4c3e-9f7b-1a2b3c4d5e6f"}
EDGE_SG = "sg-8b9253562514e82a"
TARGET_GROUP_ARN = "arn:aws:elasticloadbalancing:us-east-1:111122223333:targetgroup/edge-nginx-ff983e1/ff983e1ae7346409"
ENVOY_TARGET_GROUP_ARN = (
    "arn:aws:elasticloadbalancing:us-east-1:111122223333:targetgroup/edge-envoy-b1220f7/b1220f7d14caf82d")
TARGET_GROUP = "aws:lb/targetGroup:TargetGroup"
# Production runs ingress-nginx alone; staging leads the migration with both, 90/10.
TARGET_GROUPS = {"production": ["edge-nginx"], "staging": ["edge-nginx", "edge-envoy"]}


def release(plan: Plan) -> Registration:
    [found] = [r for r in plan.of_type("kubernetes:helm.sh/v3:Release") if r.inputs["name"] == "ingress-nginx"]
    return found


def nginx_target_group(plan: Plan) -> Registration:
    assert [r.name for r in plan.of_type(TARGET_GROUP)] == TARGET_GROUPS[plan.stack]
    return plan.get(TARGET_GROUP, "edge-nginx")


def controller_values(plan: Plan) -> dict[str, Any]:
    return release(plan).inputs["values"]["controller"]


def one(plan: Plan, type_: str) -> Registration:
    found = plan.of_type(type_)
    assert len(found) == 1, [r.name for r in found]
    return found[0]


# --- ingress-nginx controller ---------------------------------------------------------------


def test_controller_is_the_final_pinned_chart(plan: Plan) -> None:
    inputs = release(plan).inputs
    assert (inputs["name"], inputs["chart"], inputs["version"]) == ("ingress-nginx", "ingress-nginx", "4.15.1")
    assert inputs["repositoryOpts"] == {"repo": "https://kubernetes.github.io/ingress-nginx"}
    assert inputs["namespace"] == "ingress-nginx" and inputs["atomic"] is True


def test_controller_configmap_holds_the_guide_settings(plan: Plan) -> None:
    lb_subnets = {"production": "10.0.0.0/24,10.0.1.0/24,10.0.2.0/24", "staging": "10.1.0.0/24,10.1.1.0/24"}[plan.stack]
    assert controller_values(plan)["config"] == {
        "load-balance": "ewma",
        "upstream-keepalive-connections": "100",
        "upstream-keepalive-timeout": "60",
        "upstream-keepalive-requests": "100",
        "proxy-next-upstream": "error timeout http_502 http_503 http_504",
        "proxy-next-upstream-tries": "3",
        "proxy-next-upstream-timeout": "10",
        # Requests of the routes without timeouts of their own end within the pods' grace period after
        # their preStop sleep (30 - 15 s); old workers keep WebSockets their one-hour budget.
        "proxy-read-timeout": "15",
        "proxy-send-timeout": "15",
        "allow-snippet-annotations": "false",
        "worker-shutdown-timeout": "3600s",
        "enable-real-ip": "true",
        "forwarded-for-header": "X-Forwarded-For",
        "proxy-real-ip-cidr": lb_subnets,
    }
    assert controller_values(plan)["allowSnippetAnnotations"] is False


def test_controller_service_is_cluster_ip(plan: Plan) -> None:
    assert controller_values(plan)["service"] == {"type": "ClusterIP", "enableHttp": True, "enableHttps": False}


def test_controller_scales_and_survives_drains(plan: Plan) -> None:
    values = controller_values(plan)
    scaling = values["autoscaling"]
    assert scaling["enabled"] is True and scaling["minReplicas"] >= 2
    assert (scaling["targetCPUUtilizationPercentage"], scaling["targetMemoryUtilizationPercentage"]) == (70, 80)
    assert scaling["behavior"]["scaleDown"]["stabilizationWindowSeconds"] == 300
    assert values["minAvailable"] == 1 and values["minAvailable"] < scaling["minReplicas"]
    spread = {c["topologyKey"]: c for c in values["topologySpreadConstraints"]}
    assert spread["topology.kubernetes.io/zone"]["whenUnsatisfiable"] == "DoNotSchedule"
    assert spread["topology.kubernetes.io/zone"]["labelSelector"] == {"matchLabels": {
        "app.kubernetes.io/name": "ingress-nginx", "app.kubernetes.io/instance": "ingress-nginx",
        "app.kubernetes.io/component": "controller"}}


def test_controller_grace_covers_deregistration_and_drain(plan: Plan) -> None:
    values = controller_values(plan)
    target_group = nginx_target_group(plan).inputs
    delay = target_group["deregistrationDelay"]
    assert delay == 60  # guide: 60-second connection draining
    wait = int(values["extraArgs"]["shutdown-grace-period"])
    # 15 s past the delay: the ALB's drain starts up to 13 s after the pod's deletion (config/drain.py).
    assert wait == 75 and wait >= delay + 13, "nginx must keep serving while the target drains"
    nginx_drain = int(values["config"]["worker-shutdown-timeout"].rstrip("s"))
    assert values["terminationGracePeriodSeconds"] == 3700
    assert values["terminationGracePeriodSeconds"] >= wait + nginx_drain + 10  # 10: post-shutdown grace
    assert values["lifecycle"] == {"preStop": {"exec": {"command": ["/wait-shutdown"]}}}


def test_health_check_path_answers_through_the_controller(plan: Plan) -> None:
    """The target group checks /health/live on the traffic port; ingress-nginx's default server
    answers its health-check path there, so the controller's path must be the same one."""
    values = controller_values(plan)
    check = nginx_target_group(plan).inputs["healthCheck"]
    assert check["path"] == values["healthCheckPath"] == "/health/live"
    assert check["port"] == "traffic-port"
    for probe in ("livenessProbe", "readinessProbe"):
        assert values[probe]["httpGet"] == {"path": "/health/live", "port": 10254, "scheme": "HTTP"}


def test_controller_namespace_injects_readiness_gates(plan: Plan) -> None:
    namespace = plan.k8s("Namespace", "ingress-nginx")
    labels = namespace["metadata"]["labels"]
    assert labels["elbv2.k8s.aws/pod-readiness-gate-inject"] == "enabled"
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted"
    assert release(plan).depends_on and plan.get("kubernetes:core/v1:Namespace", "ingress-namespace").urn in (
        release(plan).depends_on
    )


def test_target_group_binding_registers_the_controller_pods(plan: Plan) -> None:
    binding = plan.k8s("TargetGroupBinding", "ingress-nginx", "ingress-nginx")
    target_group = nginx_target_group(plan)
    balancer = one(plan, "aws:lb/loadBalancer:LoadBalancer")
    assert binding["apiVersion"] == "elbv2.k8s.aws/v1beta1"
    assert binding["spec"]["serviceRef"] == {"name": "ingress-nginx-targets", "port": "http"}
    # The program's own Service of the controller pods, created before the binding and the release.
    assert plan.k8s("Service", "ingress-nginx-targets", "ingress-nginx")["spec"] == {
        "type": "ClusterIP",
        "selector": {"app.kubernetes.io/name": "ingress-nginx", "app.kubernetes.io/instance": "ingress-nginx",
                     "app.kubernetes.io/component": "controller"},
        "ports": [{"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}],
    }
    assert binding["spec"]["targetType"] == "ip"
    assert binding["spec"]["targetGroupARN"] == plan.outputs["targetGroupArn"]
    # Pulumi names the target group (`edge-nginx-<7 hex>`); the ARN carries that name.
    assert "name" not in target_group.inputs
    assert binding["spec"]["targetGroupARN"] == TARGET_GROUP_ARN
    [rule] = binding["spec"]["networking"]["ingress"]
    # The load balancer's own security group may reach the pods.
    assert rule["from"] == [{"securityGroup": {"groupID": balancer.inputs["securityGroups"][0]}}]
    assert rule["from"][0]["securityGroup"]["groupID"] == EDGE_SG
    assert rule["ports"] == [{"protocol": "TCP", "port": "http"}]
    # The release waits for the binding, the binding for its Service: every controller pod gets its
    # readiness gate (aws-load-balancer-controller #2982).
    registration = plan.get("kubernetes:elbv2.k8s.aws/v1beta1:TargetGroupBinding", "ingress-targets")
    assert registration.urn in release(plan).depends_on
    assert plan.get("kubernetes:core/v1:Service", "ingress-target-service").urn in registration.depends_on


# --- Routes ----------------------------------------------------------------------------------


def ingress(plan: Plan, name: str) -> dict[str, Any]:
    return plan.k8s("Ingress", f"spywatcher-{name}", NAMESPACE[plan.stack])


def backend_of(obj: dict[str, Any]) -> tuple[str, str, str, int]:
    [rule] = obj["spec"]["rules"]
    [path] = rule["http"]["paths"]
    service = path["backend"]["service"]
    return rule["host"], path["path"], service["name"], service["port"]["number"]


def test_frontend_route(plan: Plan) -> None:
    obj = ingress(plan, "frontend")
    assert obj["spec"]["ingressClassName"] == "nginx"
    assert backend_of(obj) == (HOSTS[plan.stack][0], "/", "spywatcher-frontend", 80)
    assert obj["metadata"].get("annotations", {}) == LIMITS


def test_api_route_uses_ewma_and_retries(plan: Plan) -> None:
    obj = ingress(plan, "api")
    assert backend_of(obj) == (HOSTS[plan.stack][1], "/", "spywatcher-backend", 3001)
    assert obj["metadata"]["annotations"] == {
        f"{NGINX}/load-balance": "ewma",
        f"{NGINX}/proxy-next-upstream": "error timeout http_502 http_503 http_504",
        f"{NGINX}/proxy-next-upstream-tries": "3",
        f"{NGINX}/proxy-next-upstream-timeout": "10",
        **LIMITS,
    }


def test_socketio_route_is_sticky_on_a_service_of_its_own(plan: Plan) -> None:
    obj = ingress(plan, "socketio")
    host, path, service, port = backend_of(obj)
    assert (host, path, port) == (HOSTS[plan.stack][1], "/socket.io", 3001)
    # Its own upstream: the cookie affinity cannot take over the API route's EWMA.
    assert service == "spywatcher-backend-socketio" != backend_of(ingress(plan, "api"))[2]
    annotations = obj["metadata"]["annotations"]
    assert annotations[f"{NGINX}/affinity"] == "cookie"
    assert annotations[f"{NGINX}/affinity-mode"] == "persistent"
    assert annotations[f"{NGINX}/session-cookie-max-age"] == "10800"
    assert annotations[f"{NGINX}/session-cookie-path"] == "/socket.io"
    assert annotations[f"{NGINX}/proxy-read-timeout"] == "3600"
    assert annotations[f"{NGINX}/proxy-send-timeout"] == "3600"
    assert f"{NGINX}/load-balance" not in annotations
    dedicated = plan.k8s("Service", service, NAMESPACE[plan.stack])["spec"]
    deployment = plan.k8s("Deployment", "spywatcher-backend", NAMESPACE[plan.stack])
    assert dedicated["selector"] == deployment["spec"]["selector"]["matchLabels"]
    assert dedicated["ports"] == [{"name": "http", "port": 3001, "targetPort": "http", "protocol": "TCP"}]


def ingresses(plan: Plan) -> list[dict[str, Any]]:
    """The stack's Ingress objects, checked to be the default routes' three."""
    found = [o for o in plan.k8s_objects() if o["kind"] == "Ingress"]
    assert sorted(o["metadata"]["name"] for o in found) == ROUTE_INGRESSES
    return found


def test_no_load_balancer_annotations_on_nginx_ingresses(plan: Plan) -> None:
    for obj in ingresses(plan):
        keys = obj["metadata"]["annotations"]
        assert [k for k in keys if not k.startswith(f"{NGINX}/")] == [], keys
        assert "tls" not in obj["spec"], "TLS ends at the load balancer"


def test_routes_wait_for_the_controller(plan: Plan) -> None:
    routes = plan.of_type("kubernetes:networking.k8s.io/v1:Ingress")
    assert sorted(r.name for r in routes) == ["routes-api", "routes-frontend", "routes-socketio"]
    for r in routes:
        assert release(plan).urn in r.depends_on, r.name


def test_client_ip_hashing_is_a_per_route_choice() -> None:
    routes = [
        {"name": "frontend", "host": "frontend", "workload": "frontend", "affinity": "clientIp"},
        {"name": "api", "host": "api", "workload": "backend", "loadBalance": "ewma"},
    ]
    plan = run_stack("production", {"routing": {"routes": routes}})
    obj = plan.k8s("Ingress", "spywatcher-frontend", "spywatcher")
    assert obj["metadata"]["annotations"] == {f"{NGINX}/upstream-hash-by": "$remote_addr", **LIMITS}
    assert backend_of(obj)[2] == "spywatcher-frontend-frontend"
    assert check_objects(plan.k8s_objects(), "1.34") == []


# --- AWS load balancer -----------------------------------------------------------------------


def test_application_load_balancer(plan: Plan) -> None:
    balancer = one(plan, "aws:lb/loadBalancer:LoadBalancer")
    inputs = balancer.inputs
    assert inputs["loadBalancerType"] == "application" and inputs["internal"] is False
    assert "name" not in inputs and "namePrefix" not in inputs  # Pulumi names it: replaceable
    assert balancer.delete_before_replace is False
    assert inputs["tags"]["Name"] == f"spywatcher-{plan.stack}"
    assert inputs["subnets"] == SUBNETS[plan.stack]
    # Production: AWS deletion protection and Pulumi `protect`; staging: neither, so it can be destroyed.
    assert inputs["enableDeletionProtection"] is (plan.stack == "production")
    assert balancer.protect is (plan.stack == "production")
    assert inputs["enableCrossZoneLoadBalancing"] is True
    assert inputs["enableHttp2"] is True
    assert inputs["dropInvalidHeaderFields"] is True
    assert inputs["idleTimeout"] == 60
    assert inputs["securityGroups"] == [EDGE_SG]


def test_target_group(plan: Plan) -> None:
    inputs = nginx_target_group(plan).inputs
    assert "name" not in inputs and inputs["tags"]["Name"] == f"spywatcher-{plan.stack}-nginx"
    assert (inputs["targetType"], inputs["port"], inputs["protocol"]) == ("ip", 80, "HTTP")
    assert inputs["deregistrationDelay"] == 60
    assert inputs["loadBalancingCrossZoneEnabled"] == "true"
    assert inputs["healthCheck"] == {
        "enabled": True, "protocol": "HTTP", "port": "traffic-port", "path": "/health/live", "interval": 30,
        "timeout": 5, "healthyThreshold": 2, "unhealthyThreshold": 3, "matcher": "200",
    }


def test_listeners_redirect_and_terminate_tls(plan: Plan) -> None:
    listeners = {r.inputs["port"]: r.inputs for r in plan.of_type("aws:lb/listener:Listener")}
    assert set(listeners) == {80, 443}
    assert listeners[80]["protocol"] == "HTTP"
    assert listeners[80]["defaultActions"] == [
        {"type": "redirect", "redirect": {"port": "443", "protocol": "HTTPS", "statusCode": "HTTP_301"}}
    ]
    https = listeners[443]
    assert https["protocol"] == "HTTPS"
    assert https["sslPolicy"] == "ELBSecurityPolicy-TLS13-1-2-Res-2021-06"  # no CBC ciphers
    assert https["certificateArn"] == CERTIFICATES[plan.stack]
    if plan.stack == "production":
        assert https["defaultActions"] == [{"type": "forward", "targetGroupArn": plan.outputs["targetGroupArn"]}]
    else:
        assert https["defaultActions"] == [{"type": "forward", "forward": {
            "targetGroups": [{"arn": TARGET_GROUP_ARN, "weight": 90}, {"arn": ENVOY_TARGET_GROUP_ARN, "weight": 10}],
            "stickiness": {"enabled": True, "duration": 10800}}}]


def test_security_group_opens_only_80_and_443(plan: Plan) -> None:
    """TCP only (`tcp`, the EC2 API's protocol name), to and from the listed ports."""
    ingress_rules = [r.inputs for r in plan.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")]
    assert sorted((r["fromPort"], r["toPort"], r["ipProtocol"], r["cidrIpv4"]) for r in ingress_rules) == [
        (80, 80, "tcp", "0.0.0.0/0"), (443, 443, "tcp", "0.0.0.0/0")
    ]
    egress = [r.inputs for r in plan.of_type("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule")]
    vpc_cidr = {"production": "10.0.0.0/16", "staging": "10.1.0.0/16"}[plan.stack]
    # To the targets only: nginx's port, and on staging the Envoy proxies' container port too.
    ports = {"production": [80], "staging": [80, 10080]}[plan.stack]
    assert sorted((r["fromPort"], r["toPort"], r["ipProtocol"], r["cidrIpv4"]) for r in egress) == [
        (p, p, "tcp", vpc_cidr) for p in ports]


def test_production_protects_the_load_balancer(plans: dict[str, Plan]) -> None:
    for stack, protected in (("production", True), ("staging", False)):
        plan = plans[stack]
        assert one(plan, "aws:lb/loadBalancer:LoadBalancer").protect is protected
        assert [r.protect for r in plan.of_type(TARGET_GROUP)] == [protected] * len(TARGET_GROUPS[stack])


def test_outputs_and_dns(plans: dict[str, Plan]) -> None:
    for stack, plan in plans.items():
        assert plan.outputs["loadBalancerDnsName"] == "edge-a1cb100-a1cb100f57.elb.us-east-1.amazonaws.com"
        assert plan.outputs["loadBalancerZoneId"] == "Z35SXDOTRQ7X7K"
        assert plan.outputs["targetGroupArn"] == TARGET_GROUP_ARN
        records = {r.inputs["name"]: r.inputs for r in plan.of_type("aws:route53/record:Record")}
        if stack == "production":
            assert set(records) == set(HOSTS[stack])
            for record in records.values():
                assert record["type"] == "A" and record["zoneId"] == "Z0123456789ABCDEFGHIJ"
                assert record["aliases"] == [{"name": plan.outputs["loadBalancerDnsName"],
                                              "zoneId": "Z35SXDOTRQ7X7K", "evaluateTargetHealth": True}]
        else:
            assert records == {}


def test_aws_resources_use_the_stack_provider(plan: Plan) -> None:
    provider = one(plan, "pulumi:providers:aws")
    assert provider.inputs["region"] == "us-east-1"
    aws = [r for r in plan if r.type.startswith("aws:")]
    # staging: the load balancer, its listeners, two target groups and the security group with 4
    # rules, 9 alarms (4 per target group, 1 of the load balancer); production: one target group and
    # 3 rules, 2 DNS records, 5 alarms. Both: the alarms' key, topic and topic policy, a dashboard,
    # the web ACL, its association, its log group and logging configuration, and the access logs'
    # bucket with its public access block, lifecycle and policy.
    assert len(aws) == {"staging": 31, "production": 27}[plan.stack]
    for r in aws:
        assert r.provider.startswith(provider.urn), r.name


def test_network_load_balancer_variant() -> None:
    plan = run_stack("staging", behind_nlb({"loadBalancer": {"weights": DELETE}, "gateway": DELETE}))
    balancer = one(plan, "aws:lb/loadBalancer:LoadBalancer").inputs
    assert balancer["loadBalancerType"] == "network"
    assert balancer["enableCrossZoneLoadBalancing"] is True, "explicit: an NLB has it off by default"
    assert not {"enableHttp2", "idleTimeout", "dropInvalidHeaderFields"} & set(balancer)
    target_group = one(plan, TARGET_GROUP).inputs
    assert (target_group["protocol"], target_group["proxyProtocolV2"]) == ("TCP", True)
    assert target_group["healthCheck"]["protocol"] == "HTTP"
    assert "protocolVersion" not in target_group
    listeners = {r.inputs["port"]: r.inputs for r in plan.of_type("aws:lb/listener:Listener")}
    assert set(listeners) == {443} and listeners[443]["protocol"] == "TLS"
    ports = {r.inputs["fromPort"] for r in plan.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")}
    assert ports == {443}
    config = controller_values(plan)["config"]
    assert config["use-proxy-protocol"] == "true"
    assert "use-forwarded-headers" not in config


# --- Rules -----------------------------------------------------------------------------------

RULES: list[tuple[str, dict[str, Any], str, str]] = [
    ("interval >= 5", {"loadBalancer": {"healthCheck": {"intervalSeconds": 4}}},
     "loadBalancer.healthCheck.intervalSeconds", "loadBalancer.healthCheck.intervalSeconds: 4 — must be at least 5"),
    ("interval <= 300", {"loadBalancer": {"healthCheck": {"intervalSeconds": 301}}},
     "loadBalancer.healthCheck.intervalSeconds", "loadBalancer.healthCheck.intervalSeconds: 301 — must be at most 300"),
    ("timeout >= 2", {"loadBalancer": {"healthCheck": {"timeoutSeconds": 1}}},
     "loadBalancer.healthCheck.timeoutSeconds", "loadBalancer.healthCheck.timeoutSeconds: 1 — must be at least 2"),
    ("timeout <= 120", {"loadBalancer": {"healthCheck": {"timeoutSeconds": 121}}},
     "loadBalancer.healthCheck.timeoutSeconds", "loadBalancer.healthCheck.timeoutSeconds: 121 — must be at most 120"),
    ("timeout below interval", {"loadBalancer": {"healthCheck": {"timeoutSeconds": 30}}},
     "loadBalancer.healthCheck.timeoutSeconds",
     ("loadBalancer.healthCheck.timeoutSeconds: 30 — must be shorter than healthCheck.intervalSeconds (30); AWS "
      "rejects it otherwise")),
    ("healthy >= 2", {"loadBalancer": {"healthCheck": {"healthyThreshold": 1}}},
     "loadBalancer.healthCheck.healthyThreshold", "loadBalancer.healthCheck.healthyThreshold: 1 — must be at least 2"),
    ("unhealthy <= 10", {"loadBalancer": {"healthCheck": {"unhealthyThreshold": 11}}},
     "loadBalancer.healthCheck.unhealthyThreshold",
     "loadBalancer.healthCheck.unhealthyThreshold: 11 — must be at most 10"),
    ("deregistration <= 3600", {"loadBalancer": {"deregistrationDelaySeconds": 3601}},
     "loadBalancer.deregistrationDelaySeconds", "loadBalancer.deregistrationDelaySeconds: 3601 — must be at most 3600"),
    ("http2 only on an ALB", {"loadBalancer": {"type": "network", "enableHttp2": True}},
     "loadBalancer.enableHttp2", "loadBalancer.enableHttp2: true — applies to an application load balancer only"),
    ("idle timeout only on an ALB", {"loadBalancer": {"type": "network", "idleTimeoutSeconds": 120}},
     "loadBalancer.idleTimeoutSeconds",
     "loadBalancer.idleTimeoutSeconds: 120 — applies to an application load balancer only"),
    ("invalid-header dropping only on an ALB", {"loadBalancer": {"type": "network", "dropInvalidHeaderFields": True}},
     "loadBalancer.dropInvalidHeaderFields",
     "loadBalancer.dropInvalidHeaderFields: true — applies to an application load balancer only"),
    ("AWS reserves the internal- prefix", {"loadBalancer": {"name": "internal-edge"}},
     "loadBalancer.name", "loadBalancer.name: \"internal-edge\" — must not start with `internal-` (reserved by AWS)"),
    ("load balancer name <= 32", {"loadBalancer": {"name": "spywatcher-staging-ingress-nginx-1"}},
     "loadBalancer.name",
     "loadBalancer.name: \"spywatcher-staging-ingress-nginx-1\" — must be at most 32 characters long (it has 34)"),
    ("the target group is always named by Pulumi", {"loadBalancer": {"targetGroupName": "spywatcher-staging"}},
     "loadBalancer.targetGroupName",
     ("loadBalancer.targetGroupName: \"spywatcher-staging\" — unknown key; allowed keys: accessLogs, "
      "additionalCertificates, allowedCidrs, certificate, crossZone, deletionProtection, deregistrationDelaySeconds, "
      "dropInvalidHeaderFields, enableHttp2, healthCheck, hsts, idleTimeoutSeconds, internal, name, protect, "
      "route53ZoneId, sslPolicy, stickinessSeconds, subnetCidrs, subnetIds, type, waf, weights")),
    ("ALB needs two zones", {"loadBalancer": {"subnetIds": ["subnet-0f1e2d3c4b5a60001"]}},
     "loadBalancer.subnetIds",
     ("loadBalancer.subnetIds: [\"subnet-0f1e2d3c4b5a60001\"] — an application load balancer needs subnets in at "
      "least two zones")),
    ("client CIDR", {"loadBalancer": {"allowedCidrs": ["10.0.0.1/16"]}},
     "loadBalancer.allowedCidrs[0]",
     ("loadBalancer.allowedCidrs[0]: \"10.0.0.1/16\" — must be a CIDR block whose host bits are zero: did you mean "
      "10.0.0.0/16?")),
    ("certificate ARN", {"loadBalancer": {"certificate": {"arn": "arn:aws:iam::1:server-certificate/x"}}},
     "loadBalancer.certificate.arn",
     ("loadBalancer.certificate.arn: \"arn:aws:iam::1:server-certificate/x\" — must be an ACM certificate ARN such "
      "as arn:aws:acm:us-east-1:111122223333:certificate/<id>")),
    ("TLS policy", {"loadBalancer": {"sslPolicy": "ELBSecurityPolicy-2016-08"}},
     "loadBalancer.sslPolicy",
     ("loadBalancer.sslPolicy: \"ELBSecurityPolicy-2016-08\" — must be a TLS security policy without CBC ciphers: "
      "ELBSecurityPolicy-TLS13-1-2-Res-2021-06 (TLS 1.3, and TLS 1.2 with GCM only), a -PQ- or -FIPS- variant of "
      "it, or TLS 1.3 only (ELBSecurityPolicy-TLS13-1-3-2021-06)")),
    ("TLS policy with CBC ciphers", {"loadBalancer": {"sslPolicy": "ELBSecurityPolicy-TLS13-1-2-2021-06"}},
     "loadBalancer.sslPolicy",
     ("loadBalancer.sslPolicy: \"ELBSecurityPolicy-TLS13-1-2-2021-06\" — must be a TLS security policy without CBC "
      "ciphers: ELBSecurityPolicy-TLS13-1-2-Res-2021-06 (TLS 1.3, and TLS 1.2 with GCM only), a -PQ- or -FIPS- "
      "variant of it, or TLS 1.3 only (ELBSecurityPolicy-TLS13-1-3-2021-06)")),
    ("controller grace covers deregistration + drain",
     {"ingressController": {"terminationGracePeriodSeconds": 90}},
     "ingressController.terminationGracePeriodSeconds",
     ("ingressController.terminationGracePeriodSeconds: 90 — must cover the load balancer's deregistration delay "
      "plus the controller's drain: 60 s (loadBalancer.deregistrationDelaySeconds) + 15 s margin + 3600 s nginx "
      "drain + 10 s exit = 3685 s, or the kubelet kills pods that still hold connections")),
    ("longer deregistration needs a longer grace", {"loadBalancer": {"deregistrationDelaySeconds": 300}},
     "ingressController.terminationGracePeriodSeconds",
     ("ingressController.terminationGracePeriodSeconds: 3700 — must cover the load balancer's deregistration "
      "delay plus the controller's drain: 300 s (loadBalancer.deregistrationDelaySeconds) + 15 s margin + 3600 s "
      "nginx drain + 10 s exit = 3925 s, or the kubelet kills pods that still hold connections")),
    ("host covered by the certificate", {"routing": {"hosts": {"api": "api.spywatcher.io"}}},
     "routing.hosts.api",
     ("routing.hosts.api: \"api.spywatcher.io\" — is not covered by any certificate domain "
      "(staging.spywatcher.example.com, *.staging.spywatcher.example.com): browsers would reject the TLS "
      "connection")),
    ("wildcard covers one label only", {"routing": {"hosts": {"api": "a.b.staging.spywatcher.example.com"}}},
     "routing.hosts.api",
     ("routing.hosts.api: \"a.b.staging.spywatcher.example.com\" — is not covered by any certificate domain "
      "(staging.spywatcher.example.com, *.staging.spywatcher.example.com): browsers would reject the TLS "
      "connection")),
    ("ewma with cookie affinity",
     {"routing": {"routes": [{"name": "ws", "host": "api", "workload": "backend", "loadBalance": "ewma",
                              "affinity": "cookie"}]}},
     "routing.routes[0].loadBalance",
     ("routing.routes[0].loadBalance: \"ewma\" — cannot be combined with cookie affinity: ingress-nginx would "
      "silently ignore the EWMA for this route's upstream and balance by the affinity instead")),
    ("ewma with client-IP hashing",
     {"routing": {"routes": [{"name": "ws", "host": "api", "workload": "backend", "loadBalance": "ewma",
                              "affinity": "clientIp"}]}},
     "routing.routes[0].loadBalance",
     ("routing.routes[0].loadBalance: \"ewma\" — cannot be combined with client-IP hashing (upstream-hash-by): "
      "ingress-nginx would silently ignore the EWMA for this route's upstream and balance by the affinity instead")),
    ("routes on one Service agree on balancing",
     {"routing": {"routes": [{"name": "a", "host": "api", "workload": "backend", "loadBalance": "ewma"},
                             {"name": "b", "host": "api", "path": "/v2", "workload": "backend",
                              "loadBalance": "round_robin"}]}},
     "routing.routes[1].loadBalance",
     ("routing.routes[1].loadBalance: \"round_robin\" — differs from routes[0] on the same backend Service: "
      "ingress-nginx balances per Service port, so one of them would be ignored")),
    ("route host key", {"routing": {"routes": [{"name": "a", "host": "www", "workload": "frontend"}]}},
     "routing.routes[0].host", "routing.routes[0].host: \"www\" — is not a key of routing.hosts (api, frontend)"),
    ("one route per host and path",
     {"routing": {"routes": [{"name": "a", "host": "api", "workload": "backend"},
                             {"name": "b", "host": "api", "workload": "frontend"}]}},
     "routing.routes[1].path",
     ("routing.routes[1].path: \"/\" — is already routed on api.staging.spywatcher.example.com by routes[0]: the "
      "controller would serve only one of them")),
    ("controller namespace", {"ingressController": {"namespace": "spywatcher-staging"}},
     "ingressController.namespace",
     ("ingressController.namespace: \"spywatcher-staging\" — must differ from namespace.name: the two namespaces "
      "carry different policies")),
    ("controller replicas", {"ingressController": {"autoscaling": {"minReplicas": 1}}},
     "ingressController.autoscaling.minReplicas", "ingressController.autoscaling.minReplicas: 1 — must be at least 2"),
    ("vpc cidr", {"cluster": {"vpcCidr": "10.1.0.0/33"}}, "cluster.vpcCidr",
     "cluster.vpcCidr: \"10.1.0.0/33\" — must be a CIDR block such as 10.0.0.0/16"),
]


@pytest.mark.parametrize(("overrides", "path", "message"), [c[1:] for c in RULES], ids=[c[0] for c in RULES])
def test_traffic_rules(overrides: dict[str, Any], path: str, message: str) -> None:
    assert problem_for(config_error("staging", overrides), path) == message


def test_a_long_stack_name_needs_no_name_that_fits() -> None:
    """Pulumi derives the physical names from the logical ones, not the stack's: any stack name works."""
    from config import validate_settings
    from tests.conftest import MINIMAL_CONFIG

    settings = validate_settings(MINIMAL_CONFIG, set(), "production-eu-west-1-blue")
    assert settings.load_balancer.name is None


def test_a_pinned_load_balancer_name_is_replaced_delete_first() -> None:
    plan = run_stack("staging", {"loadBalancer": {"name": "spywatcher-staging"}})
    balancer = one(plan, "aws:lb/loadBalancer:LoadBalancer")
    assert balancer.inputs["name"] == "spywatcher-staging"
    assert balancer.delete_before_replace is True
