"""Parallelism rules: each case is one defect applied to the clean baseline, and the rules it fires."""

import pytest

from ruletest import baseline, engine, rules_fired, set_flag

CASES = [
    # (case id, mutation, rules that must fire and nothing else)
    ("tp-below-gpus", lambda d: set_flag(engine(d, "r1-prefill"), "--tp-size", "8"), {"tp-gpu-mismatch"}),
    ("gpus-per-pod", lambda d: engine(d, "r1-decode")["resources"]["limits"].update({"nvidia.com/gpu": "4"}), {"tp-gpu-mismatch"}),
]


def test_baseline_is_clean():
    assert rules_fired(baseline()) == set()


@pytest.mark.parametrize("mutate, expected", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_defect_fires_its_rule_only(mutate, expected):
    docs = baseline()
    mutate(docs)
    assert rules_fired(docs) == expected
