"""The reports of `offline diff`: plain text for a terminal, Markdown for a pull request.

Both list, per stack, first the steps `pulumi up` would refuse (``!!``, each with what to do), then
the workloads whose pod template changes, as rollouts in words (``>>``), then each resource with a
symbol (``+`` create, ``~`` update, ``+-`` replace, ``-`` delete) and, below it, why it is replaced
and in which order (``!``) and each field change with the same symbols, so the Markdown's ``diff``
blocks colour them. The Markdown starts with :data:`MARKER` (CI finds its earlier comment by it),
has a table of counts, one collapsed ``<details>`` per stack, and stays within a size limit: stacks
whose changes do not fit are cut with a note saying how many lines are not shown.
"""

from __future__ import annotations

import html
import json
import re
from typing import Any

from .changes import OPS, Change, ResourceChange, StackDiff

MARKER = "<!-- spywatcher:offline-plan-diff -->"
COMMENT_LIMIT = 65_536  # GitHub's limit on an issue or pull request comment
SUMMARY_LIMIT = 1_000_000  # below GitHub's 1 MiB limit on one step's job summary
VALUE_WIDTH = 240
SYMBOL = {"create": "+", "update": "~", "replace": "+-", "delete": "-"}
INDENT = "     "
ABOUT = ("Desired state rendered offline by the program under the Pulumi SDK mocks (no cloud "
         "credentials); replacements follow the providers' and the engine's rules in offline/forcenew/. "
         "Computed values (ARNs, ids) and drift are only in a real `pulumi preview`.")
REFUSED = "refused: `pulumi up` stops at these steps; do what each says first"
ROLLOUTS = "rollouts:"
CHANGES = "changes:"
# What is missing while a resource is deleted before its replacement exists, by kind or type.
GAP = {
    "ConfigMap": "a pod that starts in between fails (CreateContainerConfigError) until the new one exists",
    "Secret": "a pod that starts in between fails (CreateContainerConfigError) until the new one exists",
    "Service": "requests to it fail until the new one and its endpoints exist",
    "Deployment": "its pods go with it: downtime until the new pods are ready",
    "StatefulSet": "its pods go with it: downtime until the new pods are ready",
    "DaemonSet": "its pods go with it until the new ones are ready",
    "Job": "its pods are deleted, then it runs again",
    "TargetGroupBinding": "its targets are deregistered, then registered again with the new target group",
    "aws:lb/loadBalancer:LoadBalancer": "downtime: no load balancer until the new one is active and DNS follows",
}


def show(value: Any) -> str:
    """A value on one line (JSON, so strings are quoted), shortened when long."""
    text = json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    return text if len(text) <= VALUE_WIDTH else text[: VALUE_WIDTH - 1] + "…"


# A pod template's config checksum (`checksum/config`: a SHA-256 of the config its pods read) is
# said in words: its 64 hex digits tell a reviewer nothing but that it changed.
CHECKSUM = re.compile(r'(?:^|\.)(?:annotations|podAnnotations)\["checksum/config"\]$')
CHECKSUM_VALUE = "(a hash of the config its pods read)"
CHECKSUM_CHANGED = "changed: the config its pods read changed, so they roll out"


def change_line(change: Change) -> str:
    checksum = CHECKSUM.search(change.path) is not None
    if change.symbol == "+":
        return f"+{INDENT}{change.path}: {CHECKSUM_VALUE if checksum else show(change.new)}"
    if change.symbol == "-":
        return f"-{INDENT}{change.path}: {CHECKSUM_VALUE if checksum else show(change.old)}"
    if checksum:
        return f"~{INDENT}{change.path}: {CHECKSUM_CHANGED}"
    return f"~{INDENT}{change.path}: {show(change.old)} → {show(change.new)}"


def gap(change: ResourceChange) -> str:
    """What is missing while ``change``'s resource is deleted before its replacement exists."""
    inputs = change.resource.inputs
    kind = inputs.get("kind") if isinstance(inputs, dict) and change.resource.id.startswith("kubernetes:") else None
    return GAP.get(str(kind), GAP.get(change.resource.id.rsplit("::", 1)[0],
                                      "it does not exist between the delete and the create"))


def order_line(change: ResourceChange) -> str:
    """A replacement's order, and why; for a delete-first one, what is missing in between."""
    if change.delete_first:
        return f"!{INDENT}delete-before-replace: {change.order}; meanwhile {gap(change)}"
    return f"!{INDENT}create-before-delete: {change.order}"


def resource_lines(change: ResourceChange) -> list[str]:
    lines = [f"{SYMBOL[change.op]} {change.resource.id}"]
    lines += [f"!{INDENT}replaced: {cause}" for cause in change.causes]
    if change.op == "replace":
        lines.append(order_line(change))
    lines += [f"!{INDENT}{note}" for note in change.notes]
    return lines + [change_line(c) for c in change.changes]


def body(diff: StackDiff) -> list[str]:
    """The lines of one stack: its message when it was not compared; else the refused steps, the
    rollouts, then every change (replacements first)."""
    if diff.status != "compared":
        return diff.message.splitlines()
    lines: list[str] = []
    if diff.refused:
        lines.append(REFUSED)
        for change, refusal in diff.refused:
            lines.append(f"!! {SYMBOL[change.op]} {change.resource.id}: {refusal.reason}")
            lines.append(f"!!{INDENT}what to do: {refusal.what_to_do}")
    if diff.rollouts:
        lines.append(ROLLOUTS)
        lines += [f">> {change.rollout}" for change in diff.rollouts]
    if lines:
        lines.append(CHANGES)
    rank = {"replace": 0, "create": 1, "update": 2, "delete": 3}
    for change in sorted(diff.resources, key=lambda c: (rank[c.op], c.resource.id)):
        lines += resource_lines(change)
    if diff.settings:
        lines += ["~ (stack)"] + [change_line(c) for c in diff.settings]
    return lines


def headline(diff: StackDiff) -> str:
    if diff.status == "unavailable":
        return "not compared: the base could not be rendered"
    if diff.status == "error":
        return "error: cannot be rendered"
    if not diff.has_changes:
        return f"no changes ({diff.unchanged} resources)"
    counts = ", ".join(f"{diff.count(op)} to {op}" for op in OPS)
    extra = ", stack settings changed" if diff.settings else ""
    refused = len(diff.refused)
    blocked = f"; {refused} step{'s' if refused != 1 else ''} refused" if refused else ""
    return f"{counts}, {diff.unchanged} unchanged{extra}{blocked}"


def text(title: str, diffs: list[StackDiff]) -> str:
    """The plain-text report."""
    lines = [f"Offline plan diff: {title}"]
    for diff in diffs:
        lines += ["", f"stack {diff.label}: {headline(diff)}", *body(diff)]
    return "\n".join(lines) + "\n"


# --- Markdown ----------------------------------------------------------------------------------


def _size(text: str) -> int:
    """Size as UTF-8 bytes: never less than GitHub's count of characters."""
    return len(text.encode("utf-8"))


def _status(diff: StackDiff) -> str:
    if diff.status == "unavailable":
        return "⚠️ not compared"
    if diff.status == "error":
        return "❌ error"
    if diff.refused:
        return "⛔ refused steps"
    return "changes" if diff.has_changes else "no changes"


def _row(diff: StackDiff) -> str:
    name = f"<code>{html.escape(diff.label)}</code>"
    if diff.status != "compared":
        return f"| {name} | {_status(diff)} | – | – | – | – | – | – |"
    counts = " | ".join(str(diff.count(op)) for op in OPS)
    return f"| {name} | {_status(diff)} | {counts} | {diff.unchanged} | {len(diff.refused)} |"


def _fence(lines: list[str]) -> str:
    """A code fence longer than any run of backticks in the lines."""
    longest = max((len(run) for line in lines for run in re.findall(r"`+", line)), default=0)
    return "`" * max(3, longest + 1)


def _block(diff: StackDiff, lines: list[str], omitted: int) -> str:
    """One stack's collapsed section, with a note when ``omitted`` lines were cut."""
    shown = lines + ([f"… {omitted} more lines not shown (size limit): see the job summary or run `make diff`"]
                     if omitted else [])
    if not shown:
        shown = ["No changes."]
    fence = _fence(shown)
    language = "diff" if diff.status == "compared" and diff.has_changes else "text"
    summary = f"<code>{html.escape(diff.label)}</code>: {html.escape(headline(diff))}"
    return "\n".join([f"<details><summary>{summary}</summary>", "", f"{fence}{language}", *shown, fence, "",
                      "</details>", "", ""])


def _cut(diff: StackDiff, lines: list[str], budget: int) -> str:
    """The stack's section with as many lines as fit in ``budget`` bytes."""
    used = _size(_block(diff, [], len(lines)))
    kept = 0
    for line in lines:
        used += _size(line) + 1
        if used > budget:
            break
        kept += 1
    return _block(diff, lines[:kept], len(lines) - kept)


def _fit(diffs: list[StackDiff], budget: int) -> list[str]:
    """Every stack's section within ``budget`` bytes in all: small stacks whole, the space left
    shared evenly among the large ones."""
    lines = [body(d) for d in diffs]
    full = [_block(d, ls, 0) for d, ls in zip(diffs, lines, strict=True)]
    sections = list(full)
    remaining = budget
    order = sorted(range(len(diffs)), key=lambda i: _size(full[i]))
    for rank, index in enumerate(order):
        share = remaining // (len(order) - rank)
        if _size(full[index]) > share:
            sections[index] = _cut(diffs[index], lines[index], share)
        remaining -= _size(sections[index])
    return sections


def markdown(title: str, diffs: list[StackDiff], limit: int = COMMENT_LIMIT) -> str:
    """The Markdown report, at most ``limit`` bytes."""
    head = "\n".join([
        MARKER,
        "### Offline plan diff",
        "",
        f"<code>{html.escape(title)}</code>",
        "",
        "| Stack | Status | Create | Update | Replace | Delete | Unchanged | Refused |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
        *(_row(d) for d in diffs),
        "",
        "",
    ])
    foot = f"<sub>{ABOUT}</sub>\n"
    document = head + "".join(_fit(diffs, limit - _size(head) - _size(foot))) + foot
    if _size(document) > limit:  # the sections' frames alone do not fit: keep the table
        document = head + "Details omitted: too large for this report's size limit; run `make diff`.\n\n" + foot
    return document
