"""Schedule-based scaling: CronJobs that set one HPA's minReplicas at set times.

Each CronJob runs kubectl under a ServiceAccount whose Role may get and patch only that HPA. The
merge patch carries its own field manager, which thereby owns `spec.minReplicas`; the HPA has that
field in its `ignoreChanges`, and the Kubernetes provider drops an ignored field that another
manager owns from its server-side apply, so `pulumi up` leaves the schedules' value alone.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pulumi

from config.operations import SchedulingSettings
from config.schedule import Schedule

from .k8s import child_opts, labels, register
from .quantity import canonical
from .workload import WorkloadArgs

FIELD_MANAGER = "spywatcher-schedule"


@dataclass(frozen=True)
class ScheduleArgs:
    workload: WorkloadArgs
    scheduling: SchedulingSettings

    @property
    def account(self) -> str:
        return f"{self.workload.name}-schedule"

    @property
    def hpa(self) -> str:
        return f"{self.workload.name}-hpa"

    @property
    def component(self) -> str:
        """The schedule pods' own component label: they are neither serving pods nor the app's."""
        return f"{self.workload.component}-schedule"


def build_service_account(args: ScheduleArgs) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": args.workload.metadata(args.account),
        "automountServiceAccountToken": False,
    }


def build_role(args: ScheduleArgs) -> dict[str, Any]:
    """May read and patch exactly one HPA, nothing else."""
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "Role",
        "metadata": args.workload.metadata(args.account),
        "rules": [
            {
                "apiGroups": ["autoscaling"],
                "resources": ["horizontalpodautoscalers"],
                "resourceNames": [args.hpa],
                "verbs": ["get", "patch"],
            }
        ],
    }


def build_role_binding(args: ScheduleArgs) -> dict[str, Any]:
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": args.workload.metadata(args.account),
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": args.account},
        "subjects": [{"kind": "ServiceAccount", "name": args.account, "namespace": args.workload.namespace}],
    }


def patch_body(schedule: Schedule) -> str:
    return json.dumps({"spec": {"minReplicas": schedule.min_replicas}})


def build_cron_job(args: ScheduleArgs, schedule: Schedule) -> dict[str, Any]:
    workload = args.workload
    resources = {k: canonical(v) for k, v in args.scheduling.resources.items()}
    container = {
        "name": "kubectl",
        "image": args.scheduling.image,
        "imagePullPolicy": "IfNotPresent",
        "command": [
            "kubectl",
            "patch",
            "horizontalpodautoscaler",
            args.hpa,
            "--namespace",
            workload.namespace,
            "--type",
            "merge",
            "--field-manager",
            FIELD_MANAGER,
            "--patch",
            patch_body(schedule),
        ],
        "env": [{"name": "HOME", "value": "/tmp"}],
        "resources": {"requests": resources, "limits": resources},
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "privileged": False,
            "readOnlyRootFilesystem": True,
            "runAsNonRoot": True,
            "runAsUser": 65532,
            "runAsGroup": 65532,
            "capabilities": {"drop": ["ALL"]},
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
    }
    return {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": workload.metadata(f"{workload.name}-{schedule.name}"),
        "spec": {
            "schedule": schedule.cron,
            "timeZone": schedule.time_zone,
            "concurrencyPolicy": "Forbid",
            "startingDeadlineSeconds": 300,
            "successfulJobsHistoryLimit": 3,
            "failedJobsHistoryLimit": 3,
            "jobTemplate": {
                "spec": {
                    "backoffLimit": 3,
                    "activeDeadlineSeconds": 120,
                    "template": {
                        "metadata": {"labels": labels(args.component, workload.instance)},
                        "spec": {
                            "serviceAccountName": args.account,
                            # The only pods of the stack that talk to the API server.
                            "automountServiceAccountToken": True,
                            "restartPolicy": "Never",
                            "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
                            "containers": [container],
                            "volumes": [{"name": "tmp", "emptyDir": {"sizeLimit": "16Mi"}}],
                        },
                    },
                }
            },
        },
    }


class ScaleSchedules(pulumi.ComponentResource):
    """The schedules of one workload's HPA."""

    def __init__(self, name: str, args: ScheduleArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("spywatcher:schedules:ScaleSchedules", name, None, opts)
        account = register(build_service_account(args), f"{name}-account", child_opts(self, opts))
        role = register(build_role(args), f"{name}-role", child_opts(self, opts))
        binding = register(
            build_role_binding(args), f"{name}-binding", child_opts(self, opts, depends_on=[account, role])
        )
        for schedule in args.workload.settings.schedules:
            register(
                build_cron_job(args, schedule), f"{name}-{schedule.name}", child_opts(self, opts, depends_on=[binding])
            )
        self.register_outputs({})
