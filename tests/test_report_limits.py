"""The diff report where a mutation sample found it unpinned: what a delete-first replacement leaves
missing for a kind without its own words, the order of the changes (replace, create, update,
delete), and the Markdown's size limit at its edges — a document exactly at the limit is whole, a
cut one uses the room it has, counts UTF-8 bytes and says how many lines it left out."""

from __future__ import annotations

from typing import Any

from offline.changes import Change, ResourceChange, StackDiff
from offline.report import markdown, order_line, text
from offline.snapshot import Resource


def change(op: Any, rid: str, inputs: Any = None, **more: Any) -> ResourceChange:
    return ResourceChange(op, Resource(rid, {}, {} if inputs is None else inputs), (), **more)


def test_a_delete_first_replacement_says_what_is_missing_by_kind_by_type_or_in_general() -> None:
    pdb = change("replace", "kubernetes:policy/v1:PodDisruptionBudget::b", {"kind": "PodDisruptionBudget"},
                 delete_first=True, order="o")
    assert order_line(pdb) == (
        "!     delete-before-replace: o; meanwhile it does not exist between the delete and the create")
    lb = change("replace", "aws:lb/loadBalancer:LoadBalancer::alb", {"name": "alb"}, delete_first=True, order="o")
    assert order_line(lb) == ("!     delete-before-replace: o; meanwhile downtime: no load balancer until the new "
                              "one is active and DNS follows")
    service = change("replace", "kubernetes:core/v1:Service::s", {"kind": "Service"}, delete_first=True, order="o")
    assert order_line(service) == ("!     delete-before-replace: o; meanwhile requests to it fail until the new one "
                                   "and its endpoints exist")
    assert order_line(change("replace", "kubernetes:core/v1:Service::s", {"kind": "Service"}, order="o")) == (
        "!     create-before-delete: o")


def test_changes_are_listed_replacements_first_then_creates_updates_and_deletes() -> None:
    diff = StackDiff("s", (change("delete", "a:d"), change("update", "a:a"), change("create", "a:b"),
                           change("replace", "a:z", order="o")), unchanged=2)
    assert text("t", [diff]).splitlines() == [
        "Offline plan diff: t",
        "",
        "stack s: 1 to create, 1 to update, 1 to replace, 1 to delete, 2 unchanged",
        "+- a:z",
        "!     create-before-delete: o",
        "+ a:b",
        "~ a:a",
        "- a:d",
    ]


def test_stack_settings_are_counted_in_the_headline_and_listed_last() -> None:
    diff = StackDiff("s", settings=(Change("spywatcher:domain", "a.example", "b.example"),), unchanged=3)
    assert text("t", [diff]).splitlines()[2:] == [
        "stack s: 0 to create, 0 to update, 0 to replace, 0 to delete, 3 unchanged, stack settings changed",
        "~ (stack)",
        '~     spywatcher:domain: "a.example" → "b.example"',
    ]


def stack(label: str, lines: int) -> StackDiff:
    """A stack of ``lines`` updates, each a line of 100 bytes and 40 characters (``→`` is 3 bytes in UTF-8)."""
    return StackDiff(label, tuple(change("update", f"k:{i:03}" + "→" * 31) for i in range(lines)))


def size(report: str) -> int:
    return len(report.encode("utf-8"))


def test_a_document_exactly_at_the_limit_is_whole_and_one_byte_less_is_cut() -> None:
    diffs = [stack("s", 5)]
    whole = markdown("t", diffs, 1_000_000)
    assert markdown("t", diffs, size(whole)) == whole
    cut = markdown("t", diffs, size(whole) - 1)
    assert size(cut) <= size(whole) - 1 and "… 1 more lines not shown (size limit)" in cut
    assert "~ k:003" in cut and "~ k:004" not in cut
    # the cut document at its own size keeps the same lines: a line that fits exactly is kept
    assert markdown("t", diffs, size(cut)) == cut


def test_a_stack_cut_to_no_lines_says_how_many_it_left_out_not_that_nothing_changed() -> None:
    diffs = [stack("s", 5)]
    whole = markdown("t", diffs, 1_000_000)
    # the smallest limit with the stack's section: its frame and the note fit, no line does
    report = next(r for limit in range(size(whole)) if "<details>" in (r := markdown("t", diffs, limit)))
    assert "```diff\n… 5 more lines not shown (size limit)" in report and "No changes." not in report


def test_a_cut_report_counts_bytes_and_uses_the_room_left_by_a_small_stack() -> None:
    report = markdown("t", [stack("small", 2), stack("large", 600)], 20_000)
    assert size(report) <= 20_000
    assert size(report) > 20_000 - 200  # the large stack gets all the room the small one leaves
    assert report.count("more lines not shown") == 1
