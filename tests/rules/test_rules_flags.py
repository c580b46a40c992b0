"""Flag rules: each case is one defect applied to the clean baseline, and the rules it fires."""

import pytest

from ruletest import baseline, engine, rules_fired, run_rules, set_flag

P, D, R = "r1-prefill", "r1-decode", "r1-router"
DIGEST = "lmsysorg/sglang@sha256:" + "ab" * 32


def add(name, *items):
    return lambda d: engine(d, name)["args"].extend(items)


def image(name, ref):
    return lambda d: engine(d, name).update({"image": ref})


def secret_env(name, var):
    return lambda d: engine(d, name).setdefault("env", []).append(
        {"name": var, "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}})


def both(*mutations):
    def apply(d):
        for m in mutations:
            m(d)
    return apply


CASES = [
    # (case id, mutation, sglang version override, rules that must fire and nothing else)
    ("typo-with-value", add(P, "--max-runing-requests", "1024"), None, {"flag-unknown"}),
    ("router-typo", add(R, "--prefill-polcy", "random"), None, {"flag-unknown"}),
    ("removed-flag-0523", lambda d: None, "0.5.23", {"flag-unknown", "flag-ambiguous", "flag-deprecated"}),
    ("prefix-of-two", add(D, "--cuda-graph", "128"), None, {"flag-ambiguous"}),
    ("bad-int", lambda d: set_flag(engine(d, P), "--context-length", "32k"), None, {"flag-invalid-value"}),
    ("bad-choice", lambda d: set_flag(engine(d, P), "--load-balance-method", "round-robin"), None, {"flag-invalid-value"}),
    ("flag-and-value-in-one-item", add(D, "--log-level debug"), None, {"flag-invalid-value"}),
    ("value-after-boolean", lambda d: engine(d, P)["args"].insert(engine(d, P)["args"].index("--disable-radix-cache") + 1, "true"),
     None, {"flag-invalid-value"}),
    ("missing-value-at-end", add(R, "--port"), None, {"flag-invalid-value"}),
    ("date-tag", image(R, "registry.local/sglang:20251106"), None, {"image-unpinned"}),
]

NEAR_MISSES = [
    ("unique-prefix", add(P, "--max-prefill", "32768")),
    ("equals-form", add(P, "--watchdog-timeout=600")),
    ("secret-value", both(secret_env(P, "CTX"), lambda d: set_flag(engine(d, P), "--context-length", "$(CTX)"))),
    ("versioned-tag", image(R, "lmsysorg/sglang:v0.5.6.post2-cu126")),
    ("digest-pins-content", image(R, DIGEST)),
]


@pytest.mark.parametrize("mutate, version, expected", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_defect_fires_its_rule_only(mutate, version, expected):
    docs = baseline()
    mutate(docs)
    assert rules_fired(docs, sglang_version=version) == expected


@pytest.mark.parametrize("mutate", [c[1] for c in NEAR_MISSES], ids=[c[0] for c in NEAR_MISSES])
def test_near_miss_is_clean(mutate):
    docs = baseline()
    mutate(docs)
    assert rules_fired(docs) == set()


def test_unresolved_variable_is_reported_once():
    docs = baseline()
    set_flag(engine(docs, P), "--context-length", "$(PD_CONTEXT)")
    assert rules_fired(docs) == {"unresolved-variable"}


def test_a_moving_tag_is_reported_once():
    docs = baseline()
    image(R, "lmsysorg/sglang:deepep")(docs)
    (finding,) = run_rules(docs)
    assert finding.rule == "image-unpinned" and "tag `deepep` is not a version" in finding.message


def test_findings_point_at_the_argv_entry():
    docs = baseline()
    add(P, "--max-runing-requests", "1024")(docs)
    (finding,) = run_rules(docs)
    args = engine(docs, P)["args"]
    assert finding.path_text.endswith(f"containers[0].args[{len(args) - 2}]")
    assert "did you mean --max-running-requests?" in finding.message
