"""The shipped Prometheus rules: valid, about metrics hookyard exports, and firing when
they should (``promtool test rules`` on tests/rules/, where promtool is installed)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from prometheus_client import REGISTRY

import hookyard.metrics  # noqa: F401  (defines every metric in the registry)

ROOT = Path(__file__).parents[3]
RULES = ROOT / "examples" / "prometheus" / "hookyard-rules.yml"
RULE_TESTS = sorted((ROOT / "tests" / "rules").glob("*.test.yml"))
WANTED = {
    "HookyardBacklogOld",
    "HookyardBacklogGrowing",
    "HookyardDeadLetters",
    "HookyardDestinationDisabled",
    "HookyardCircuitOpen",
    "HookyardIngestUnavailable",
    "HookyardSourceQuiet",
    "HookyardCanaryStale",
    "HookyardLoopUnhealthy",
    "HookyardBacklogNotSampled",
    "HookyardNoData",
    "HookyardMirrorLaneDown",
}


def exported_names() -> set[str]:
    names: set[str] = set()
    for family in REGISTRY.collect():
        names.update(sample.name for sample in family.samples)
        names.add(family.name)
        if family.type == "counter":  # a labelled counter with no child yet has no sample
            names.add(f"{family.name}_total")
    return names


def test_every_rule_is_complete_and_names_only_metrics_hookyard_exports() -> None:
    document = yaml.safe_load(RULES.read_text())
    [group] = document["groups"]
    rules = group["rules"]
    assert {rule["alert"] for rule in rules} == WANTED
    exported = exported_names()
    for rule in rules:
        assert rule["labels"]["severity"] in ("page", "ticket"), rule["alert"]
        assert rule["annotations"]["summary"].startswith("hookyard: "), rule["alert"]
        used = set(re.findall(r"\bhookyard_[a-z_]+", rule["expr"]))
        assert used, rule["alert"]
        assert used <= exported, f"{rule['alert']}: {sorted(used - exported)} not exported"


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool is not installed")
def test_promtool_checks_the_rules_and_their_tests_pass() -> None:
    check = subprocess.run(
        ["promtool", "check", "rules", str(RULES)], capture_output=True, text=True, timeout=60
    )
    assert check.returncode == 0, check.stdout + check.stderr
    assert len(RULE_TESTS) == 2
    tested = subprocess.run(
        ["promtool", "test", "rules", *(path.name for path in RULE_TESTS)],
        cwd=RULE_TESTS[0].parent,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert "SUCCESS" in tested.stdout
