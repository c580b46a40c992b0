"""Values argparse accepts but SGLang cannot work with (issue #11 item 8), and the sentinels and
boundaries that must stay clean. Each case is one change to the clean baseline."""

import pytest

from ruletest import baseline, drop_flag, engine, rules_fired, run_rules, set_flag

P, D = "r1-prefill", "r1-decode"
OUT = {"flag-value-out-of-range"}


def flag(name, f, value=None):
    return lambda d: set_flag(engine(d, name), f, value)


CASES = [
    # (case id, mutation, sglang version override, rules that must fire and nothing else)
    ("mem-fraction-1", flag(P, "--mem-fraction-static", "1.0"), None, OUT),
    ("mem-fraction-1.2", flag(P, "--mem-fraction-static", "1.2"), None, OUT),
    ("mem-fraction-0", flag(D, "--mem-fraction-static", "0"), None, OUT),
    ("mem-fraction-negative", flag(D, "--mem-fraction-static", "-0.5"), None, OUT),
    # aiter (AMD) scales a written fraction by 0.85 for long contexts: 1.0 becomes 0.85
    ("mem-fraction-1-aiter-near-miss", lambda d: (flag(P, "--mem-fraction-static", "1.0")(d),
                                                  flag(P, "--attention-backend", "aiter")(d)), None, set()),
    ("mem-fraction-1.2-aiter", lambda d: (flag(P, "--mem-fraction-static", "1.2")(d),
                                          flag(P, "--attention-backend", "aiter")(d)), None, OUT),
    ("mem-fraction-0.99-near-miss", flag(D, "--mem-fraction-static", "0.99"), None, set()),
    ("mem-fraction-0.01-near-miss", flag(D, "--mem-fraction-static", "0.01"), None, set()),
    ("max-running-0", flag(D, "--max-running-requests", "0"), None, OUT),
    ("max-running-negative", flag(D, "--max-running-requests", "-1"), None, OUT),
    # 0.5.23 clamps the per-rank share to at least 1 (pool_configurator.py)
    ("max-running-0-in-0.5.23-near-miss", flag(D, "--max-running-requests", "0"), "0.5.23-ranges", set()),
    ("max-queued-0", flag(P, "--max-queued-requests", "0"), None, OUT),
    ("max-total-tokens-0", flag(P, "--max-total-tokens", "0"), None, OUT),
    ("context-length-0", flag(P, "--context-length", "0"), None, OUT),
    ("tp-0", flag(P, "--tp-size", "0"), None, OUT),
    ("ep-0", lambda d: (drop_flag(engine(d, P), "--moe-a2a-backend"), flag(P, "--ep-size", "0")(d)), None, OUT),
    # DeepEP sets ep_size = tp_size itself: the written 0 is overwritten (moe-a2a-ep-conflict says so)
    ("ep-0-deepep-near-miss", flag(P, "--ep-size", "0"), None, {"moe-a2a-ep-conflict"}),
    ("cuda-graph-max-bs-0", flag(D, "--cuda-graph-max-bs", "0"), None, OUT),
    ("cuda-graph-max-bs-0-graph-bs-near-miss",
     lambda d: (flag(D, "--cuda-graph-max-bs", "0")(d), flag(D, "--cuda-graph-bs", "128")(d)), None, set()),
    ("cuda-graph-max-bs-0-disabled-near-miss",
     lambda d: (flag(D, "--cuda-graph-max-bs", "0")(d), flag(D, "--disable-cuda-graph")(d)), None, set()),
    # chunked prefill <= 0 means "disabled" (scheduler.py), not an error
    ("chunked-prefill-minus-1-near-miss", flag(P, "--chunked-prefill-size", "-1"), None, set()),
    ("chunked-prefill-0-near-miss", flag(P, "--chunked-prefill-size", "0"), None, set()),
    ("runtime-value-near-miss", lambda d: (flag(P, "--mem-fraction-static", "$(MFS)")(d),
                                           engine(d, P)["env"].append({"name": "MFS", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}})),
     None, set()),
]


def _run(mutate, version):
    docs = baseline()
    mutate(docs)
    if version == "0.5.23-ranges":
        # 0.5.23 rejects other flags of the baseline; judge only this rule there
        return {f.rule for f in run_rules(docs, sglang_version="0.5.23")} & OUT
    return rules_fired(docs, sglang_version=version)


@pytest.mark.parametrize("mutate, version, expected", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_value_case(mutate, version, expected):
    assert _run(mutate, version) == expected


def test_page_size_is_left_to_the_attention_backend():
    """Backends (some picked per GPU) and DeepSeek NSA models replace the page size: 0 is not judged,
    only the P/D difference it makes."""
    docs = baseline()
    set_flag(engine(docs, P), "--page-size", "0")
    assert rules_fired(docs) == {"pd-page-size-mismatch"}


def test_0523_judges_the_memory_fraction():
    docs = baseline()
    set_flag(engine(docs, P), "--mem-fraction-static", "1.5")
    assert {f.rule for f in run_rules(docs, sglang_version="0.5.23")} & OUT == OUT


def test_message_names_value_source_and_fix():
    docs = baseline()
    set_flag(engine(docs, D), "--max-running-requests", "0")
    (f,) = [f for f in run_rules(docs) if f.rule == "flag-value-out-of-range"]
    assert "--max-running-requests 0" in f.message and "tp_worker.py" in f.message
    assert "at least 1" in f.fix
    assert f.path_text.startswith("spec.leaderWorkerTemplate.workerTemplate.spec.containers[0].args")
