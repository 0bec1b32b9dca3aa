"""The README's config reference is generated from the models and must match them."""

from __future__ import annotations

from offline.docs import README, reference, render_readme


def test_readme_config_reference_is_current() -> None:
    text = README.read_text()
    assert render_readme(text) == text, "README config reference is stale: run `make docs`"


def test_reference_names_every_guide_number_with_its_words() -> None:
    text = reference()
    for row in (
        "| `backend.autoscaling.maxReplicas` | int | `10` |",
        "| `frontend.autoscaling.maxReplicas` | int | `5` |",
        "| `backend.autoscaling.cpuUtilization` | int | `70` |",
        "| `backend.autoscaling.behavior.scaleDown.stabilizationWindowSeconds` | int | `300` |",
        "| `backend.service.sessionAffinityTimeoutSeconds` | int | `10800` |",
        "| `backend.image` | str | **required** |",
    ):
        assert row in text, row
    assert "Guide: '50% decrease or 1 pod every 60 seconds'" in text
