"""Migrations before code: a Job that runs the database migration with the backend's image and
config, and a credential of its own (`migration.existingSecret`, not the backend's Secret). The
backend depends on it, so `pulumi up` rolls the backend only after the Job has completed, and a
failed migration stops the update before any backend pod changes.

The Job itself depends on the backend's ConfigMap (its pod reads it), which is registered before
it; a failed Job is replaced by the next `pulumi up` (`pulumi.com/replaceUnready`).

Its pods have an identity of their own (`app.kubernetes.io/component: migration`): they run the
backend's image but serve nothing, so none of the backend's selectors — its Deployment, Service,
disruption budget and network policies — may pick them (`make check` refuses an overlap,
offline/selectors.py), and a network policy of their own lets them reach only the database.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

import pulumi

from config.operations import MigrationSettings

from .k8s import child_opts, image_version, labels, metadata, register, selector
from .workload import WorkloadArgs, build_container, build_pod_spec

REPLACE_UNREADY = "pulumi.com/replaceUnready"
COMPONENT = "migration"  # app.kubernetes.io/component of the Job and its pods


@dataclass(frozen=True)
class MigrationArgs:
    backend: WorkloadArgs
    settings: MigrationSettings

    @property
    def image(self) -> str:
        return self.settings.image or self.backend.settings.image

    def labels(self) -> dict[str, str]:
        return labels(COMPONENT, self.backend.instance, image_version(self.image))

    def selector(self) -> dict[str, str]:
        return selector(COMPONENT, self.backend.instance)

    @property
    def job_name(self) -> str:
        """A new name for every image and command: a Job's pod template cannot change, and a new
        release must run its migration again."""
        digest = hashlib.sha256(json.dumps([self.image, self.settings.command]).encode()).hexdigest()[:10]
        return f"{self.backend.name}-migrate-{digest}"


def build_job(args: MigrationArgs) -> dict[str, Any]:
    container = build_container(args.backend, name="migrate", image=args.image, command=args.settings.command)
    # Its own credential: the migration's Secret instead of the backend's.
    env_from = [e for e in container.get("envFrom", []) if "secretRef" not in e]
    if args.settings.existing_secret is not None:
        env_from.append({"secretRef": {"name": args.settings.existing_secret}})
    container["envFrom"] = env_from
    pod = build_pod_spec(args.backend, container)
    pod["restartPolicy"] = "Never"
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        # A Job that failed (a bad migration, its deadline) stays failed: without this annotation the
        # next `pulumi up` waits on the same failed Job again and fails again. With it,
        # pulumi-kubernetes replaces an unready Job, so a fixed database lets the same release retry.
        "metadata": metadata(
            args.job_name, args.backend.namespace, args.labels(), annotations={REPLACE_UNREADY: "true"}
        ),
        "spec": {
            "backoffLimit": args.settings.backoff_limit,
            "activeDeadlineSeconds": args.settings.active_deadline_seconds,
            "template": {"metadata": {"labels": args.labels()}, "spec": pod},
        },
    }


class Migration(pulumi.ComponentResource):
    """The migration Job; the backend Workload depends on this component."""

    job_name: str

    def __init__(self, name: str, args: MigrationArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("spywatcher:migration:Migration", name, None, opts)
        # Pulumi waits for the Job to succeed; a failure (or the deadline) fails `pulumi up` here.
        timeout = f"{args.settings.active_deadline_seconds + 120}s"
        register(
            build_job(args),
            f"{name}-job",
            child_opts(self, opts, custom_timeouts=pulumi.CustomTimeouts(create=timeout, update=timeout)),
        )
        self.job_name = args.job_name
        self.register_outputs({"jobName": self.job_name})
