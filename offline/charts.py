"""`python -m offline charts`: what a chart bump or a values change renders, for the CI job that runs
`helm template` (networked: it downloads the pinned charts; never run by the tests).

A `helm.v3.Release` shows in a preview only as its chart, version and values: the objects Helm
will create stay opaque. The pull-request workflow renders the base and the head of a change
(`offline render --all`), asks this tool whether any release's chart, version or values changed,
and only then runs `helm template` for both sides with exactly the rendered values and posts the
difference of the objects.

- ``changed BASE HEAD``: prints ``changed=true`` or ``changed=false`` (a GitHub step output) and
  the releases that differ on stderr. Exit 0.
- ``template RENDER OUT [--dry-run]``: for every release of every stack under RENDER, writes its
  values files (`valueYamlFiles`, then `values`) to ``OUT/<stack>/<namespace>/`` and runs
  `helm template` into
  ``OUT/<stack>/<namespace>/<release>.yaml``; ``--dry-run`` prints the commands instead.
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import yaml

SECRET = "[secret]"


@dataclass(frozen=True)
class Release:
    """One Helm release as a render holds it (helm/<namespace>/<release>.yaml)."""

    stack: str
    file: Path
    spec: dict[str, Any]

    @property
    def key(self) -> str:
        return f"{self.stack}/{self.file.parent.name}/{self.file.stem}"

    def value_files(self) -> list[str]:
        """The release's `valueYamlFiles` (text assets), which Helm reads before `values`."""
        return [str(asset.get("stringAsset", "")) for asset in self.spec.get("valueYamlFiles") or []]

    def command(self, values_files: list[Path]) -> list[str]:
        """The `helm template` argv: the pinned chart from its repository, the release's namespace and
        name, and its rendered values files in the order Pulumi gives them to Helm. An OCI chart
        (`oci://…`) names its registry itself and takes no `--repo`; a release that skips its
        chart's CRDs (`skipCrds`) is templated without them, as Helm installs it."""
        spec = self.spec
        repo = (spec.get("repositoryOpts") or {}).get("repo")
        argv = [
            "helm", "template", str(spec.get("name") or self.file.stem), str(spec["chart"]),
            *(["--repo", str(repo)] if repo else []),
            "--version", str(spec["version"]),
            "--namespace", str(spec.get("namespace") or "default"),
            *([] if spec.get("skipCrds") else ["--include-crds"]),
        ]
        for file in values_files:
            argv += ["--values", str(file)]
        return argv


def releases(render: Path) -> list[Release]:
    """Every release in a render folder (`<render>/<stack>/helm/<namespace>/<release>.yaml`)."""
    found = []
    for file in sorted(render.glob("*/helm/*/*.yaml")):
        spec = yaml.safe_load(file.read_text(encoding="utf-8")) or {}
        found.append(Release(file.parts[-4], file, spec))
    return found


def changed(base: Path, head: Path) -> list[str]:
    """The releases whose chart, version, repository or values differ between two renders."""
    before = {r.key: r.spec for r in releases(base)}
    after = {r.key: r.spec for r in releases(head)}
    keys = ("chart", "version", "repositoryOpts", "valueYamlFiles", "values")
    return sorted(
        k for k in before.keys() | after.keys()
        if {f: (before.get(k) or {}).get(f) for f in keys} != {f: (after.get(k) or {}).get(f) for f in keys}
    )


def _has_secret(value: Any) -> bool:
    if isinstance(value, dict):
        return any(_has_secret(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_secret(v) for v in value)
    return value == SECRET


def template(render: Path, out: Path, dry_run: bool, stdout: TextIO, stderr: TextIO) -> int:
    code = 0
    for release in releases(render):
        folder = out / release.stack / release.file.parent.name
        folder.mkdir(parents=True, exist_ok=True)
        values = release.spec.get("values") or {}
        if _has_secret(values):  # masked in the render: the objects would be wrong, and nothing leaks
            print(f"{release.key}: values hold a secret; not templated", file=stderr)
            continue
        files = []
        for index, text in enumerate(release.value_files()):
            files.append(folder / f"{release.file.stem}.values-{index}.yaml")
            files[-1].write_text(text, encoding="utf-8")
        files.append(folder / f"{release.file.stem}.values.yaml")
        files[-1].write_text(yaml.safe_dump(values, sort_keys=True), encoding="utf-8")
        argv = release.command(files)
        if dry_run:
            print(" ".join(argv), file=stdout)
            continue
        result = subprocess.run(argv, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            print(f"{release.key}: helm template failed: {result.stderr.strip()}", file=stderr)
            code = 1
            continue
        (folder / f"{release.file.stem}.yaml").write_text(result.stdout, encoding="utf-8")
    return code


def main(argv: list[str], out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    from .cli import Parser, UsageError, summary

    parser = Parser(prog="python -m offline charts", description=summary(__doc__))
    verbs = parser.add_subparsers(dest="verb", required=True)
    compare = verbs.add_parser("changed", help="did a chart, its version or its values change")
    compare.add_argument("base", type=Path)
    compare.add_argument("head", type=Path)
    run = verbs.add_parser("template", help="helm template every release of a render")
    run.add_argument("render", type=Path)
    run.add_argument("out", type=Path)
    run.add_argument("--dry-run", action="store_true", help="print the commands, run nothing")
    try:
        args = parser.parse_args(argv)
    except UsageError as exc:
        print(f"error: {exc}", file=err)
        return 2
    if args.verb == "changed":
        differ = changed(args.base, args.head)
        for key in differ:
            print(f"chart or values changed: {key}", file=err)
        print(f"changed={'true' if differ else 'false'}", file=out)
        return 0
    return template(args.render, args.out, args.dry_run, out, err)
