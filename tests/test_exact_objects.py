"""Whole objects, compared exactly where the whole object is known: the guide's numbers, every
security field, every annotation key and value, every load-balancer setting. One expected dict per
object, so a dropped field, an altered key or a changed number fails here; each literal was
reviewed against docs/reference (the guide) and the upstream docs named beside it.

The ARNs and ids in them are the deterministic outputs of offline/mock_outputs.py."""

from __future__ import annotations

from typing import Any

import pytest

from offline.engine import DELETE, Plan, run_stack
from tests.conftest import behind_nlb

ALLOW_DNS: Any = {
    "apiVersion": "networking.k8s.io/v1",
    "kind": "NetworkPolicy",
    "metadata": {
        "labels": {
            "app.kubernetes.io/component": "network",
            "app.kubernetes.io/instance": "spywatcher-staging",
            "app.kubernetes.io/managed-by": "pulumi",
            "app.kubernetes.io/name": "spywatcher",
            "app.kubernetes.io/part-of": "spywatcher",
        },
        "name": "spywatcher-allow-dns",
        "namespace": "spywatcher-staging",
    },
    "spec": {
        "egress": [
            {
                "ports": [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}],
                "to": [
                    {
                        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
                        "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
                    }
                ],
            }
        ],
        "podSelector": {},
        "policyTypes": ["Egress"],
    },
}

DEFAULT_DENY: Any = {
    "apiVersion": "networking.k8s.io/v1",
    "kind": "NetworkPolicy",
    "metadata": {
        "labels": {
            "app.kubernetes.io/component": "network",
            "app.kubernetes.io/instance": "spywatcher-staging",
            "app.kubernetes.io/managed-by": "pulumi",
            "app.kubernetes.io/name": "spywatcher",
            "app.kubernetes.io/part-of": "spywatcher",
        },
        "name": "spywatcher-default-deny",
        "namespace": "spywatcher-staging",
    },
    "spec": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]},
}

BACKEND_POD: Any = {
    "automountServiceAccountToken": False,
    "enableServiceLinks": False,
    "securityContext": {
        "fsGroup": 1000,
        "runAsGroup": 1000,
        "runAsNonRoot": True,
        "runAsUser": 1000,
        "seccompProfile": {"type": "RuntimeDefault"},
    },
    "terminationGracePeriodSeconds": 30,
    "topologySpreadConstraints": [
        {
            "labelSelector": {
                "matchLabels": {
                    "app.kubernetes.io/component": "backend",
                    "app.kubernetes.io/instance": "spywatcher-staging",
                    "app.kubernetes.io/name": "spywatcher",
                }
            },
            "matchLabelKeys": ["pod-template-hash"],
            "maxSkew": 1,
            "topologyKey": "topology.kubernetes.io/zone",
            "whenUnsatisfiable": "DoNotSchedule",
        },
        {
            "labelSelector": {
                "matchLabels": {
                    "app.kubernetes.io/component": "backend",
                    "app.kubernetes.io/instance": "spywatcher-staging",
                    "app.kubernetes.io/name": "spywatcher",
                }
            },
            "matchLabelKeys": ["pod-template-hash"],
            "maxSkew": 1,
            "topologyKey": "kubernetes.io/hostname",
            "whenUnsatisfiable": "ScheduleAnyway",
        },
    ],
    "volumes": [{"emptyDir": {"sizeLimit": "64Mi"}, "name": "scratch-tmp"}],
}

BACKEND_CONTAINER: Any = {
    "imagePullPolicy": "IfNotPresent",
    "lifecycle": {"preStop": {"sleep": {"seconds": 15}}},
    "livenessProbe": {
        "failureThreshold": 3,
        "httpGet": {"path": "/health/live", "port": "http", "scheme": "HTTP"},
        "initialDelaySeconds": 30,
        "periodSeconds": 10,
        "successThreshold": 1,
        "timeoutSeconds": 5,
    },
    "name": "backend",
    "ports": [
        {"containerPort": 3001, "name": "http", "protocol": "TCP"},
        {"containerPort": 9464, "name": "metrics", "protocol": "TCP"},
    ],
    "readinessProbe": {
        "failureThreshold": 3,
        "httpGet": {"path": "/health/ready", "port": "http", "scheme": "HTTP"},
        "initialDelaySeconds": 10,
        "periodSeconds": 5,
        "successThreshold": 1,
        "timeoutSeconds": 3,
    },
    "resources": {"limits": {"cpu": "500m", "memory": "512Mi"}, "requests": {"cpu": "250m", "memory": "256Mi"}},
    "securityContext": {
        "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"]},
        "privileged": False,
        "readOnlyRootFilesystem": True,
        "runAsGroup": 1000,
        "runAsNonRoot": True,
        "runAsUser": 1000,
        "seccompProfile": {"type": "RuntimeDefault"},
    },
    "startupProbe": {
        "failureThreshold": 30,
        "httpGet": {"path": "/health/live", "port": "http", "scheme": "HTTP"},
        "initialDelaySeconds": 0,
        "periodSeconds": 10,
        "successThreshold": 1,
        "timeoutSeconds": 1,
    },
    "volumeMounts": [{"mountPath": "/tmp", "name": "scratch-tmp"}],
}

FRONTEND_POD_SECURITY: Any = {
    "fsGroup": 101,
    "runAsGroup": 101,
    "runAsNonRoot": True,
    "runAsUser": 101,
    "seccompProfile": {"type": "RuntimeDefault"},
    "sysctls": [{"name": "net.ipv4.ip_unprivileged_port_start", "value": "80"}],
}

FRONTEND_CONTAINER_SECURITY: Any = {
    "allowPrivilegeEscalation": False,
    "capabilities": {"drop": ["ALL"]},
    "privileged": False,
    "readOnlyRootFilesystem": True,
    "runAsGroup": 101,
    "runAsNonRoot": True,
    "runAsUser": 101,
    "seccompProfile": {"type": "RuntimeDefault"},
}

ANNOTATIONS_FRONTEND: Any = {
    "nginx.ingress.kubernetes.io/limit-connections": "50",
    "nginx.ingress.kubernetes.io/limit-rps": "50",
}

ANNOTATIONS_API: Any = {
    "nginx.ingress.kubernetes.io/limit-connections": "50",
    "nginx.ingress.kubernetes.io/limit-rps": "50",
    "nginx.ingress.kubernetes.io/load-balance": "ewma",
    "nginx.ingress.kubernetes.io/proxy-next-upstream": "error timeout http_502 http_503 http_504",
    "nginx.ingress.kubernetes.io/proxy-next-upstream-timeout": "10",
    "nginx.ingress.kubernetes.io/proxy-next-upstream-tries": "3",
}

ANNOTATIONS_SOCKETIO: Any = {
    "nginx.ingress.kubernetes.io/affinity": "cookie",
    "nginx.ingress.kubernetes.io/affinity-mode": "persistent",
    "nginx.ingress.kubernetes.io/limit-connections": "50",
    "nginx.ingress.kubernetes.io/limit-rps": "50",
    "nginx.ingress.kubernetes.io/proxy-read-timeout": "3600",
    "nginx.ingress.kubernetes.io/proxy-send-timeout": "3600",
    "nginx.ingress.kubernetes.io/session-cookie-change-on-failure": "true",
    "nginx.ingress.kubernetes.io/session-cookie-expires": "10800",
    "nginx.ingress.kubernetes.io/session-cookie-max-age": "10800",
    "nginx.ingress.kubernetes.io/session-cookie-name": "SPYWATCHER_SIO",
    "nginx.ingress.kubernetes.io/session-cookie-path": "/socket.io",
    "nginx.ingress.kubernetes.io/session-cookie-samesite": "Lax",
    "nginx.ingress.kubernetes.io/session-cookie-secure": "true",
}

CONTROLLER_VALUES: Any = {
    "controller": {
        "admissionWebhooks": {
            "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "spywatcher-staging"}}
        },
        "allowSnippetAnnotations": False,
        "autoscaling": {
            "behavior": {
                "scaleDown": {
                    "policies": [
                        {"periodSeconds": 60, "type": "Percent", "value": 50},
                        {"periodSeconds": 60, "type": "Pods", "value": 1},
                    ],
                    "selectPolicy": "Min",
                    "stabilizationWindowSeconds": 300,
                },
                "scaleUp": {
                    "policies": [
                        {"periodSeconds": 30, "type": "Percent", "value": 100},
                        {"periodSeconds": 30, "type": "Pods", "value": 2},
                    ],
                    "selectPolicy": "Max",
                    "stabilizationWindowSeconds": 0,
                },
            },
            "enabled": True,
            "maxReplicas": 6,
            "minReplicas": 2,
            "targetCPUUtilizationPercentage": 70,
            "targetMemoryUtilizationPercentage": 80,
        },
        "config": {
            "allow-snippet-annotations": "false",
            "enable-real-ip": "true",
            "forwarded-for-header": "X-Forwarded-For",
            "load-balance": "ewma",
            "proxy-next-upstream": "error timeout http_502 http_503 http_504",
            "proxy-next-upstream-timeout": "10",
            "proxy-next-upstream-tries": "3",
            "proxy-read-timeout": "15",
            "proxy-real-ip-cidr": "10.1.0.0/24,10.1.1.0/24",
            "proxy-send-timeout": "15",
            "upstream-keepalive-connections": "100",
            "upstream-keepalive-requests": "100",
            "upstream-keepalive-timeout": "60",
            "worker-shutdown-timeout": "3600s",
        },
        "extraArgs": {"shutdown-grace-period": "75"},
        "healthCheckPath": "/health/live",
        "ingressClass": "nginx",
        "ingressClassResource": {
            "controllerValue": "k8s.io/ingress-nginx",
            "default": False,
            "enabled": True,
            "name": "nginx",
        },
        "lifecycle": {"preStop": {"exec": {"command": ["/wait-shutdown"]}}},
        "livenessProbe": {
            "failureThreshold": 5,
            "httpGet": {"path": "/health/live", "port": 10254, "scheme": "HTTP"},
            "initialDelaySeconds": 10,
            "periodSeconds": 10,
            "successThreshold": 1,
            "timeoutSeconds": 1,
        },
        "metrics": {"enabled": True},
        "minAvailable": 1,
        "podAnnotations": {"checksum/config": "d4c6ef2d95f10ef6475462f3b185ffef6d147867b65f091e569c605c1f7f7f95"},
        "podLabels": {"app.kubernetes.io/part-of": "spywatcher"},
        "readinessProbe": {
            "failureThreshold": 3,
            "httpGet": {"path": "/health/live", "port": 10254, "scheme": "HTTP"},
            "initialDelaySeconds": 10,
            "periodSeconds": 10,
            "successThreshold": 1,
            "timeoutSeconds": 1,
        },
        "resources": {"limits": {"memory": "512Mi"}, "requests": {"cpu": "200m", "memory": "256Mi"}},
        "scope": {"enabled": True, "namespace": "spywatcher-staging"},
        "service": {"enableHttp": True, "enableHttps": False, "type": "ClusterIP"},
        "terminationGracePeriodSeconds": 3700,
        "topologySpreadConstraints": [
            {
                "labelSelector": {
                    "matchLabels": {
                        "app.kubernetes.io/component": "controller",
                        "app.kubernetes.io/instance": "ingress-nginx",
                        "app.kubernetes.io/name": "ingress-nginx",
                    }
                },
                "matchLabelKeys": ["pod-template-hash"],
                "maxSkew": 1,
                "topologyKey": "topology.kubernetes.io/zone",
                "whenUnsatisfiable": "DoNotSchedule",
            },
            {
                "labelSelector": {
                    "matchLabels": {
                        "app.kubernetes.io/component": "controller",
                        "app.kubernetes.io/instance": "ingress-nginx",
                        "app.kubernetes.io/name": "ingress-nginx",
                    }
                },
                "matchLabelKeys": ["pod-template-hash"],
                "maxSkew": 1,
                "topologyKey": "kubernetes.io/hostname",
                "whenUnsatisfiable": "ScheduleAnyway",
            },
        ],
    },
    "rbac": {"create": True, "scope": True},
}

INGRESS_LABELS: Any = {
    "app.kubernetes.io/component": "ingress",
    "app.kubernetes.io/instance": "spywatcher-staging",
    "app.kubernetes.io/managed-by": "pulumi",
    "app.kubernetes.io/name": "spywatcher",
    "app.kubernetes.io/part-of": "spywatcher",
}
READ = ["get", "list", "watch"]
CONTROLLER_ACCOUNT: Any = [{"kind": "ServiceAccount", "name": "ingress-nginx", "namespace": "ingress-nginx"}]
CLASSES = "spywatcher-staging-ingress-nginx-ingressclasses"

# The scoped controller's access: the chart ClusterRole's namespaced rules as a Role in the app's
# namespace only, and cluster-wide nothing but reading IngressClasses.
CONTROLLER_RBAC: Any = {
    "ingress-role": {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "Role",
        "metadata": {"labels": INGRESS_LABELS, "name": "ingress-nginx-controller", "namespace": "spywatcher-staging"},
        "rules": [
            {"apiGroups": [""], "resources": ["namespaces"], "verbs": ["get"]},
            {"apiGroups": [""], "resources": ["configmaps", "pods", "secrets", "endpoints"], "verbs": READ},
            {"apiGroups": [""], "resources": ["services"], "verbs": READ},
            {"apiGroups": ["networking.k8s.io"], "resources": ["ingresses"], "verbs": READ},
            {"apiGroups": ["networking.k8s.io"], "resources": ["ingresses/status"], "verbs": ["update"]},
            {"apiGroups": [""], "resources": ["events"], "verbs": ["create", "patch"]},
            {"apiGroups": ["discovery.k8s.io"], "resources": ["endpointslices"], "verbs": READ},
        ],
    },
    "ingress-rolebinding": {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": {"labels": INGRESS_LABELS, "name": "ingress-nginx-controller", "namespace": "spywatcher-staging"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "ingress-nginx-controller"},
        "subjects": CONTROLLER_ACCOUNT,
    },
    "ingress-clusterrole": {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": {"labels": INGRESS_LABELS, "name": CLASSES},
        "rules": [{"apiGroups": ["networking.k8s.io"], "resources": ["ingressclasses"], "verbs": READ}],
    },
    "ingress-clusterrolebinding": {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRoleBinding",
        "metadata": {"labels": INGRESS_LABELS, "name": CLASSES},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": CLASSES},
        "subjects": CONTROLLER_ACCOUNT,
    },
}

AWS_EDGE_SG: Any = {
    "description": "spywatcher: clients to the load balancer, load balancer to ingress-nginx pods",
    "revokeRulesOnDelete": True,
    "tags": {"Name": "spywatcher-staging-lb"},
    "vpcId": "vpc-0f1e2d3c4b5a60000",
}

AWS_EDGE_NGINX: Any = {
    "deregistrationDelay": 60,
    "healthCheck": {
        "enabled": True,
        "healthyThreshold": 2,
        "interval": 30,
        "matcher": "200",
        "path": "/health/live",
        "port": "traffic-port",
        "protocol": "HTTP",
        "timeout": 5,
        "unhealthyThreshold": 3,
    },
    "loadBalancingCrossZoneEnabled": "true",
    "port": 80,
    "protocol": "HTTP",
    "protocolVersion": "HTTP1",
    "tags": {"Name": "spywatcher-staging-nginx"},
    "targetType": "ip",
    "vpcId": "vpc-0f1e2d3c4b5a60000",
}

# Staging's second data plane: the same check and drain, on the proxies' container port.
AWS_EDGE_ENVOY: Any = {**AWS_EDGE_NGINX, "port": 10080, "tags": {"Name": "spywatcher-staging-envoy"}}

AWS_EDGE: Any = {
    # Every request logged to the stack's own bucket (its name is Pulumi's auto-name, as the mocks make it).
    "accessLogs": {"bucket": "edge-logs-2a98afc", "enabled": True, "prefix": "spywatcher-staging-alb"},
    "desyncMitigationMode": "defensive",
    "dropInvalidHeaderFields": True,
    "enableCrossZoneLoadBalancing": True,
    "enableDeletionProtection": False,
    "enableHttp2": True,
    "idleTimeout": 60,
    "internal": False,
    "ipAddressType": "ipv4",
    "loadBalancerType": "application",
    "securityGroups": ["sg-8b9253562514e82a"],
    "subnets": ["subnet-0f1e2d3c4b5a60001", "subnet-0f1e2d3c4b5a60002"],
    "tags": {"Name": "spywatcher-staging"},
}

AWS_EDGE_HTTP: Any = {
    "defaultActions": [
        {"redirect": {"port": "443", "protocol": "HTTPS", "statusCode": "HTTP_301"}, "type": "redirect"}
    ],
    "loadBalancerArn": "arn:aws:elasticloadbalancing:us-east-1:111122223333:loadbalancer/app/edge-a1cb100/"
                       "a1cb100f57e971ca",
    "port": 80,
    "protocol": "HTTP",
}

AWS_EDGE_HTTPS: Any = {
    "certificateArn": "arn:aws:acm:us-east-1:111122223333:certificate/7c1d2e3f-4a5b-4c6d-8e9f-0a1b2c3d4e5f",
    # Staging runs step 2 of the migration: 90/10, clients kept on their data plane for 3 h.
    "defaultActions": [
        {
            "forward": {
                "stickiness": {"duration": 10800, "enabled": True},
                "targetGroups": [
                    {"arn": "arn:aws:elasticloadbalancing:us-east-1:111122223333:targetgroup/edge-nginx-ff983e1/"
                            "ff983e1ae7346409", "weight": 90},
                    {"arn": "arn:aws:elasticloadbalancing:us-east-1:111122223333:targetgroup/edge-envoy-b1220f7/"
                            "b1220f7d14caf82d", "weight": 10},
                ],
            },
            "type": "forward",
        }
    ],
    "loadBalancerArn": "arn:aws:elasticloadbalancing:us-east-1:111122223333:loadbalancer/app/edge-a1cb100/"
                       "a1cb100f57e971ca",
    "port": 443,
    "protocol": "HTTPS",
    "routingHttpResponseStrictTransportSecurityHeaderValue": "max-age=31536000; includeSubDomains",
    "sslPolicy": "ELBSecurityPolicy-TLS13-1-2-Res-2021-06",
}

ADAPTER: Any = {
    "atomic": True,
    "chart": "prometheus-adapter",
    "cleanupOnFail": True,
    "compat": "true",
    "createNamespace": False,
    "maxHistory": 10,
    "name": "prometheus-adapter",
    "namespace": "monitoring",
    "repositoryOpts": {"repo": "https://prometheus-community.github.io/helm-charts"},
    "timeout": 600,
    "valueYamlFiles": [
        {
            "stringAsset": "podDisruptionBudget:\n"
            "  enabled: true\n"
            "  maxUnavailable: null\n"
            "  minAvailable: 1\n"
            "  unhealthyPodEvictionPolicy: AlwaysAllow\n"
        }
    ],
    "values": {
        "certManager": {"enabled": True},
        "prometheus": {"port": 9090, "url": "http://kube-prometheus-stack-prometheus.monitoring.svc"},
        "replicas": 2,
        "rules": {
            "custom": [
                {
                    "metricsQuery": "sum(rate(<<.Series>>{<<.LabelMatchers>>}[2m])) by (<<.GroupBy>>)",
                    "name": {"as": "http_requests_per_second", "matches": "^http_requests_total$"},
                    "resources": {"overrides": {"namespace": {"resource": "namespace"}, "pod": {"resource": "pod"}}},
                    "seriesQuery": 'http_requests_total{namespace!="",pod!=""}',
                },
                {
                    "metricsQuery": "sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)",
                    "name": {"as": "websocket_active_connections", "matches": "^websocket_active_connections$"},
                    "resources": {"overrides": {"namespace": {"resource": "namespace"}, "pod": {"resource": "pod"}}},
                    "seriesQuery": 'websocket_active_connections{namespace!="",pod!=""}',
                },
            ],
            "default": False,
        },
    },
    "version": "5.3.0",
}

CRONJOB: Any = {
    "apiVersion": "batch/v1",
    "kind": "CronJob",
    "metadata": {
        "labels": {
            "app.kubernetes.io/component": "frontend",
            "app.kubernetes.io/instance": "spywatcher-all-options",
            "app.kubernetes.io/managed-by": "pulumi",
            "app.kubernetes.io/name": "spywatcher",
            "app.kubernetes.io/part-of": "spywatcher",
            "app.kubernetes.io/version": "v2.0.0",
        },
        "name": "spywatcher-frontend-night",
        "namespace": "spywatcher-all",
    },
    "spec": {
        "concurrencyPolicy": "Forbid",
        "failedJobsHistoryLimit": 3,
        "jobTemplate": {
            "spec": {
                "activeDeadlineSeconds": 120,
                "backoffLimit": 3,
                "template": {
                    "metadata": {
                        "labels": {
                            "app.kubernetes.io/component": "frontend-schedule",
                            "app.kubernetes.io/instance": "spywatcher-all-options",
                            "app.kubernetes.io/managed-by": "pulumi",
                            "app.kubernetes.io/name": "spywatcher",
                            "app.kubernetes.io/part-of": "spywatcher",
                        }
                    },
                    "spec": {
                        "automountServiceAccountToken": True,
                        "containers": [
                            {
                                "command": [
                                    "kubectl",
                                    "patch",
                                    "horizontalpodautoscaler",
                                    "spywatcher-frontend-hpa",
                                    "--namespace",
                                    "spywatcher-all",
                                    "--type",
                                    "merge",
                                    "--field-manager",
                                    "spywatcher-schedule",
                                    "--patch",
                                    '{"spec": {"minReplicas": 2}}',
                                ],
                                "env": [{"name": "HOME", "value": "/tmp"}],
                                "image": "registry.k8s.io/kubectl:v1.34.1@sha256:"
                                         "59bafa07ff3a6d4b417e7633ddb9d79a9606ca98bf64bac080b3e65748669250",
                                "imagePullPolicy": "IfNotPresent",
                                "name": "kubectl",
                                "resources": {
                                    "limits": {"cpu": "50m", "memory": "64Mi"},
                                    "requests": {"cpu": "50m", "memory": "64Mi"},
                                },
                                "securityContext": {
                                    "allowPrivilegeEscalation": False,
                                    "capabilities": {"drop": ["ALL"]},
                                    "privileged": False,
                                    "readOnlyRootFilesystem": True,
                                    "runAsGroup": 65532,
                                    "runAsNonRoot": True,
                                    "runAsUser": 65532,
                                    "seccompProfile": {"type": "RuntimeDefault"},
                                },
                                "volumeMounts": [{"mountPath": "/tmp", "name": "tmp"}],
                            }
                        ],
                        "restartPolicy": "Never",
                        "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
                        "serviceAccountName": "spywatcher-frontend-schedule",
                        "volumes": [{"emptyDir": {"sizeLimit": "16Mi"}, "name": "tmp"}],
                    },
                },
            }
        },
        "schedule": "0 22 * * *",
        "startingDeadlineSeconds": 300,
        "successfulJobsHistoryLimit": 3,
        "timeZone": "UTC",
    },
}

SCHEDULE_META: Any = {
    "labels": {
        "app.kubernetes.io/component": "frontend",
        "app.kubernetes.io/instance": "spywatcher-all-options",
        "app.kubernetes.io/managed-by": "pulumi",
        "app.kubernetes.io/name": "spywatcher",
        "app.kubernetes.io/part-of": "spywatcher",
        "app.kubernetes.io/version": "v2.0.0",
    },
    "name": "spywatcher-frontend-schedule",
    "namespace": "spywatcher-all",
}

# The schedule's identity: no token on the account itself (only its CronJob's pod mounts one), and
# a Role that may get and patch exactly its own HPA.
SCHEDULE_RBAC: Any = {
    "ServiceAccount": {"apiVersion": "v1", "kind": "ServiceAccount", "automountServiceAccountToken": False,
                       "metadata": SCHEDULE_META},
    "Role": {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "Role",
        "metadata": SCHEDULE_META,
        "rules": [{"apiGroups": ["autoscaling"], "resourceNames": ["spywatcher-frontend-hpa"],
                   "resources": ["horizontalpodautoscalers"], "verbs": ["get", "patch"]}],
    },
    "RoleBinding": {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": SCHEDULE_META,
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "spywatcher-frontend-schedule"},
        "subjects": [{"kind": "ServiceAccount", "name": "spywatcher-frontend-schedule", "namespace": "spywatcher-all"}],
    },
}

JOB: Any = {
    "activeDeadlineSeconds": 600,
    "backoffLimit": 0,
    "template": {
        "metadata": {
            "labels": {
                "app.kubernetes.io/component": "migration",
                "app.kubernetes.io/instance": "spywatcher-all-options",
                "app.kubernetes.io/managed-by": "pulumi",
                "app.kubernetes.io/name": "spywatcher",
                "app.kubernetes.io/part-of": "spywatcher",
                "app.kubernetes.io/version": "v2.0.0",
            }
        },
        "spec": {
            "automountServiceAccountToken": False,
            "containers": [
                {
                    "command": ["npx", "--no-install", "prisma", "migrate", "deploy"],
                    # Its own credential, not the backend's Secret.
                    "envFrom": [{"secretRef": {"name": "spywatcher-migration-secrets"}}],
                    "image": "ghcr.io/subculture-collective/spywatcher-backend:v2.0.0",
                    "imagePullPolicy": "IfNotPresent",
                    "name": "migrate",
                    "resources": {
                        "limits": {"cpu": "1", "memory": "1Gi"},
                        "requests": {"cpu": "500m", "memory": "512Mi"},
                    },
                    "securityContext": {
                        "allowPrivilegeEscalation": False,
                        "capabilities": {"drop": ["ALL"]},
                        "privileged": False,
                        "readOnlyRootFilesystem": True,
                        "runAsGroup": 1000,
                        "runAsNonRoot": True,
                        "runAsUser": 1000,
                        "seccompProfile": {"type": "RuntimeDefault"},
                    },
                    "volumeMounts": [{"mountPath": "/tmp", "name": "scratch-tmp"}],
                }
            ],
            "enableServiceLinks": False,
            "restartPolicy": "Never",
            "securityContext": {
                "fsGroup": 1000,
                "runAsGroup": 1000,
                "runAsNonRoot": True,
                "runAsUser": 1000,
                "seccompProfile": {"type": "RuntimeDefault"},
            },
            "terminationGracePeriodSeconds": 30,
            "volumes": [{"emptyDir": {"sizeLimit": "64Mi"}, "name": "scratch-tmp"}],
        },
    },
}

NLB_TARGET_GROUP: Any = {
    "connectionTermination": False,
    "deregistrationDelay": 60,
    "healthCheck": {
        "enabled": True,
        "healthyThreshold": 2,
        "interval": 30,
        "matcher": "200",
        "path": "/health/live",
        "port": "traffic-port",
        "protocol": "HTTP",
        "timeout": 5,
        "unhealthyThreshold": 3,
    },
    "loadBalancingCrossZoneEnabled": "true",
    "port": 80,
    "protocol": "TCP",
    "proxyProtocolV2": True,
    "tags": {"Name": "spywatcher-staging-nginx"},
    "targetType": "ip",
    "vpcId": "vpc-0f1e2d3c4b5a60000",
}

NLB: Any = {
    "enableCrossZoneLoadBalancing": True,
    "enableDeletionProtection": False,
    "internal": False,
    "ipAddressType": "ipv4",
    "loadBalancerType": "network",
    "securityGroups": ["sg-8b9253562514e82a"],
    "subnets": ["subnet-0f1e2d3c4b5a60001", "subnet-0f1e2d3c4b5a60002"],
    "tags": {"Name": "spywatcher-staging"},
}


def selector(workload: str) -> dict[str, Any]:
    return {"matchLabels": {"app.kubernetes.io/component": workload, "app.kubernetes.io/instance": "spywatcher-staging",
                            "app.kubernetes.io/name": "spywatcher"}}


def deployment_spec(workload: str) -> dict[str, Any]:
    """A workload's Deployment spec without its pod template: the guide's rollout, no replicas (the HPA's)."""
    return {"minReadySeconds": 0, "progressDeadlineSeconds": 600, "revisionHistoryLimit": 10,
            "selector": selector(workload),
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}}}


def budget_spec(workload: str) -> dict[str, Any]:
    """The guide's minAvailable 1; a pod that is not ready anyway never blocks a drain."""
    return {"minAvailable": 1, "selector": selector(workload), "unhealthyPodEvictionPolicy": "AlwaysAllow"}


@pytest.fixture(scope="module")
def staging(plans: dict[str, Plan]) -> Plan:
    return plans["staging"]


@pytest.fixture(scope="module")
def all_options(fixture_plans: dict[str, Plan]) -> Plan:
    return fixture_plans["all-options"]


def test_dns_is_the_only_egress_every_pod_has(staging: Plan) -> None:
    """kube-dns in kube-system only, on port 53 over UDP and TCP; everything else is denied."""
    assert staging.k8s("NetworkPolicy", "spywatcher-allow-dns", "spywatcher-staging") == ALLOW_DNS
    assert staging.k8s("NetworkPolicy", "spywatcher-default-deny", "spywatcher-staging") == DEFAULT_DENY


def test_backend_pod_spec_is_exact(staging: Plan) -> None:
    """The restricted Pod Security profile (every field), the guide's probes and the preStop drain."""
    spec = staging.k8s("Deployment", "spywatcher-backend")["spec"]["template"]["spec"]
    [container] = spec["containers"]
    assert {k: v for k, v in spec.items() if k != "containers"} == BACKEND_POD
    assert {k: v for k, v in container.items() if k not in ("env", "envFrom", "image")} == BACKEND_CONTAINER


@pytest.mark.parametrize("workload", ["backend", "frontend"])
def test_deployment_and_budget_specs_are_exact(staging: Plan, workload: str) -> None:
    spec = staging.k8s("Deployment", f"spywatcher-{workload}")["spec"]
    assert {k: v for k, v in spec.items() if k != "template"} == deployment_spec(workload)
    assert staging.k8s("PodDisruptionBudget", f"spywatcher-{workload}-pdb")["spec"] == budget_spec(workload)


def test_frontend_security_is_exact(staging: Plan) -> None:
    spec = staging.k8s("Deployment", "spywatcher-frontend")["spec"]["template"]["spec"]
    assert spec["securityContext"] == FRONTEND_POD_SECURITY
    assert spec["containers"][0]["securityContext"] == FRONTEND_CONTAINER_SECURITY
    assert (spec["automountServiceAccountToken"], spec["enableServiceLinks"]) == (False, False)


def test_route_annotations_are_exact(staging: Plan) -> None:
    """ingress-nginx annotations: EWMA and the guide's retries on the API; cookie affinity for
    Socket.IO (3 hours, changed when its pod fails); per-client limits on every route."""
    annotations = {
        o["metadata"]["name"]: o["metadata"].get("annotations") for o in staging.k8s_objects() if o["kind"] == "Ingress"
    }
    assert annotations == {
        "spywatcher-frontend": ANNOTATIONS_FRONTEND,
        "spywatcher-api": ANNOTATIONS_API,
        "spywatcher-socketio": ANNOTATIONS_SOCKETIO,
    }


def test_controller_values_are_exact(staging: Plan) -> None:
    """The controller's chart values: probes, spread, drain, keepalive and the HPA of the guide."""
    assert staging.get("kubernetes:helm.sh/v3:Release", "ingress").inputs["values"] == CONTROLLER_VALUES


def test_controller_rbac_is_exact(staging: Plan) -> None:
    rbac = {r.name: r.inputs for r in staging if r.is_kubernetes_object and r.inputs["kind"] in (
        "Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding") and r.name.startswith("ingress-")}
    assert rbac == CONTROLLER_RBAC


@pytest.mark.parametrize(
    ("type_", "name", "expected"),
    [
        ("aws:ec2/securityGroup:SecurityGroup", "edge-sg", AWS_EDGE_SG),
        ("aws:lb/targetGroup:TargetGroup", "edge-nginx", AWS_EDGE_NGINX),
        ("aws:lb/targetGroup:TargetGroup", "edge-envoy", AWS_EDGE_ENVOY),
        ("aws:lb/loadBalancer:LoadBalancer", "edge", AWS_EDGE),
        ("aws:lb/listener:Listener", "edge-http", AWS_EDGE_HTTP),
        ("aws:lb/listener:Listener", "edge-https", AWS_EDGE_HTTPS),
    ],
)
def test_application_load_balancer_is_exact(staging: Plan, type_: str, name: str, expected: dict[str, Any]) -> None:
    """Deletion protection, cross-zone, HTTP/2, desync mitigation `defensive`, invalid headers
    dropped, the guide's health check and 60 s draining, rules revoked with the group."""
    assert staging.get(type_, name).inputs == expected


def test_network_load_balancer_is_exact() -> None:
    """An NLB: proxy protocol v2 and connections closed when a target is deregistered."""
    plan = run_stack("staging", behind_nlb({"loadBalancer": {"weights": DELETE}, "gateway": DELETE}))
    assert plan.get("aws:lb/loadBalancer:LoadBalancer", "edge").inputs == NLB
    assert plan.get("aws:lb/targetGroup:TargetGroup", "edge-nginx").inputs == NLB_TARGET_GROUP


def test_prometheus_adapter_release_is_exact(all_options: Plan) -> None:
    """Only the stack's rules; a PDB of minAvailable 1 with the chart's maxUnavailable nulled."""
    assert all_options.get("kubernetes:helm.sh/v3:Release", "monitoring-adapter").inputs == ADAPTER


def test_schedule_cronjob_is_exact(all_options: Plan) -> None:
    """Deadlines, history, Forbid, its own token (it patches the HPA) and a non-root kubectl."""
    assert all_options.k8s("CronJob", "spywatcher-frontend-night") == CRONJOB


def test_canary_budget_is_exact(all_options: Plan) -> None:
    """One canary pod may always be evicted (its single replica must not block a drain), and a pod
    that is not ready anyway never blocks one."""
    assert all_options.k8s("PodDisruptionBudget", "spywatcher-backend-canary-pdb")["spec"] == {
        "maxUnavailable": 1,
        "selector": {"matchLabels": {"app.kubernetes.io/component": "backend-canary",
                                     "app.kubernetes.io/instance": "spywatcher-all-options",
                                     "app.kubernetes.io/name": "spywatcher"}},
        "unhealthyPodEvictionPolicy": "AlwaysAllow",
    }


@pytest.mark.parametrize("kind", ["ServiceAccount", "Role", "RoleBinding"])
def test_schedule_rbac_is_exact(all_options: Plan, kind: str) -> None:
    assert all_options.k8s(kind, "spywatcher-frontend-schedule") == SCHEDULE_RBAC[kind]


def test_migration_job_is_exact(all_options: Plan) -> None:
    """Its own identity (`component: migration`): no selector of the backend picks its pods."""
    [job] = [o for o in all_options.k8s_objects() if o["kind"] == "Job"]
    assert job["spec"] == JOB
    assert job["metadata"] == {
        "name": "spywatcher-backend-migrate-231cc010aa",
        "namespace": "spywatcher-all",
        "labels": JOB["template"]["metadata"]["labels"],
        "annotations": {"pulumi.com/replaceUnready": "true"},
    }


def test_migration_network_policy_is_exact(all_options: Plan) -> None:
    """Out to the database only (DNS comes from allow-dns); nothing in (the default deny)."""
    assert all_options.k8s("NetworkPolicy", "spywatcher-migration-egress")["spec"] == {
        "podSelector": {
            "matchLabels": {
                "app.kubernetes.io/name": "spywatcher",
                "app.kubernetes.io/instance": "spywatcher-all-options",
            },
            "matchExpressions": [{"key": "app.kubernetes.io/component", "operator": "In", "values": ["migration"]}],
        },
        "policyTypes": ["Egress"],
        "egress": [{"to": [{"ipBlock": {"cidr": "10.2.64.0/24"}}], "ports": [{"protocol": "TCP", "port": 5432}]}],
    }


def test_the_migration_job_is_named_by_its_image_and_command(all_options: Plan) -> None:
    """A new Job (and so a new migration run) exactly when what it runs changes."""

    def name(overrides: dict[str, Any]) -> str:
        [job] = [o for o in run_stack("all-options", overrides).k8s_objects() if o["kind"] == "Job"]
        return str(job["metadata"]["name"])

    # The first 10 hex digits of the sha256 of the JSON [image, command]: the same in every run.
    [job] = [o for o in all_options.k8s_objects() if o["kind"] == "Job"]
    assert job["metadata"]["name"] == "spywatcher-backend-migrate-231cc010aa"
    assert name({"migration": {"command": ["npx", "--no-install", "prisma", "migrate", "resolve"]}}) == (
        "spywatcher-backend-migrate-80ab98af53")
    assert name({"migration": {"image": "ghcr.io/subculture-collective/spywatcher-backend:v2.0.1"}}) == (
        "spywatcher-backend-migrate-2ba9f2076d")
