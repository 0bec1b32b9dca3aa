"""`make mutation BASE=...` (tooling/mutation_changed.py): which lines a branch changed, which
functions hold them, which mutants sit on them; on a small git repository made here."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.gitrepo import git
from tooling.mutation_changed import (
    ChangedError,
    changed_lines,
    changed_text,
    functions_at,
    on_changed_lines,
    parse_diff,
    with_only_mutate,
)

DIFF = """\
diff --git a/config/a.py b/config/a.py
--- a/config/a.py
+++ b/config/a.py
@@ -3 +3 @@ def f():
-    return 1
+    return 2
@@ -10,0 +11,2 @@ def g():
+    x = 1
+    y = 2
@@ -20,2 +22,0 @@ def h():
-    gone = 1
-    gone = 2
diff --git a/config/b.py b/config/b.py
deleted file mode 100644
--- a/config/b.py
+++ /dev/null
@@ -1,2 +0,0 @@
-a = 1
-b = 2
diff --git a/config/c.py b/config/c.py
--- a/config/c.py
+++ b/config/c.py
@@ -5 +4,0 @@
-only = "deleted"
"""


def test_a_diff_gives_the_new_sides_added_and_changed_lines() -> None:
    assert parse_diff(DIFF) == {"config/a.py": {3, 11, 12}}


SOURCE = '''\
import x


def top(a):
    return a + 1


class Thing:
    value = 1

    @property
    def size(self):
        def inner():
            return 2
        return inner()

    def other(self):
        return 3


def last():
    return 4
'''


def test_changed_lines_map_to_the_functions_mutmut_mutates() -> None:
    # 1: an import (no function); 5: top; 9: a class attribute; 11: a decorator; 14: a nested function
    # (part of its method); 18: other; 21: last
    assert functions_at(SOURCE, {1, 5, 9, 11, 14, 18, 21}) == {
        "top": {5}, "Thing.size": {11, 14}, "Thing.other": {18}, "last": {21}}
    assert functions_at(SOURCE, {1, 2, 9}) == {}


def test_a_mutant_counts_when_a_line_it_changes_is_a_changed_line() -> None:
    texts = changed_text(SOURCE, {5, 14})
    assert texts == {"return a + 1", "return 2"}
    diff = "--- a\n+++ b\n@@ -1,2 +1,2 @@\n def top(a):\n-    return a + 1\n+    return a - 1"
    assert on_changed_lines(diff, texts)
    elsewhere = "--- a\n+++ b\n@@ -1,2 +1,2 @@\n def top(a):\n-    return a + 3\n+    return a - 3"
    assert not on_changed_lines(elsewhere, texts)
    assert not on_changed_lines("", texts)


def test_the_work_copy_mutates_only_the_changed_files() -> None:
    pyproject = '[tool.mutmut]\nsource_paths = ["config"]\nalso_copy = ["docs"]\ntimeout_constant = 30.0\n'
    assert with_only_mutate(pyproject, ["config/a.py", "config/b.py"]) == (
        '[tool.mutmut]\nsource_paths = ["config"]\nalso_copy = ["docs"]\n'
        'only_mutate = ["config/a.py", "config/b.py"]\ntimeout_constant = 30.0\n')
    with pytest.raises(ValueError, match="no also_copy"):
        with_only_mutate("[tool.mutmut]\n", ["config/a.py"])


def test_a_branch_is_compared_with_its_merge_base_committed_or_not(tmp_path: Path) -> None:
    (tmp_path / "config").mkdir()
    (tmp_path / "tests").mkdir()
    (tmp_path / "config" / "a.py").write_text("def f():\n    return 1\n\n\ndef g():\n    return 2\n")
    git(tmp_path, "init", "-q", "-b", "main")
    git(tmp_path, "add", ".")
    git(tmp_path, "commit", "-q", "-m", "base")
    git(tmp_path, "checkout", "-q", "-b", "work")
    (tmp_path / "config" / "a.py").write_text("def f():\n    return 10\n\n\ndef g():\n    return 2\n")
    git(tmp_path, "commit", "-q", "-am", "committed change")
    git(tmp_path, "checkout", "-q", "main")
    (tmp_path / "config" / "later.py").write_text("x = 1\n")
    git(tmp_path, "add", ".")
    git(tmp_path, "commit", "-q", "-m", "main moved on")  # not the branch's change
    git(tmp_path, "checkout", "-q", "work")
    (tmp_path / "config" / "a.py").write_text("def f():\n    return 10\n\n\ndef g():\n    return 20\n")  # not committed
    (tmp_path / "config" / "new.py").write_text("def n():\n    return 0\n")  # untracked
    (tmp_path / "tests" / "test_x.py").write_text("def test():\n    pass\n")  # not a mutated package
    assert changed_lines(tmp_path, "main", ("config",)) == {"config/a.py": {2, 6}, "config/new.py": {1, 2}}
    with pytest.raises(ChangedError, match=r"^git merge-base nope HEAD: "):
        changed_lines(tmp_path, "nope", ("config",))
