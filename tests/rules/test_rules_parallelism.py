"""Parallelism rules: each case is one defect applied to the clean baseline, and the rules it fires."""

import pytest

from ruletest import defect_tests, baseline, drop_flag, engine, lws, rules_fired, run_rules, set_flag

P, D = "r1-prefill", "r1-decode"


def flag(name, f, value=None):
    return lambda d: set_flag(engine(d, name), f, value)


def both(*mutations):
    def apply(d):
        for m in mutations:
            m(d)
    return apply


def drop(name, f, takes_value=True):
    return lambda d: drop_flag(engine(d, name), f, takes_value)


def size(name, n):
    return lambda d: lws(d, name)["spec"]["leaderWorkerTemplate"].update({"size": n})


def annotate(name, key, value):
    return lambda d: lws(d, name)["metadata"].setdefault("annotations", {}).update({key: value})


def modern(d):
    """The baseline in 0.5.23 spelling: --attn-dp-size, per-phase CUDA-graph flag, no removed flags."""
    for name in (P, D):
        c = engine(d, name)
        drop_flag(c, "--enable-dp-attention", takes_value=False)
        c["args"][c["args"].index("--dp-size")] = "--attn-dp-size"
    c = engine(d, D)
    c["args"][c["args"].index("--cuda-graph-max-bs")] = "--cuda-graph-max-bs-decode"
    drop_flag(c, "--prefill-round-robin-balance", takes_value=False)


CASES = [
    # (case id, mutation, rules that must fire and nothing else)
    ("tp-below-gpus", flag(P, "--tp-size", "8"), {"tp-gpu-mismatch", "tp-dp-indivisible"}),  # dp 16 no longer divides tp 8
    ("gpus-per-pod", lambda d: engine(d, D)["resources"]["limits"].update({"nvidia.com/gpu": "4"}), {"tp-gpu-mismatch"}),
    ("tp-over-3-nodes", size(D, 3), {"tp-nnodes-indivisible"}),
    ("nnodes-literal-wrong", both(flag(D, "--nnodes", "2"), size(D, 3)), {"lws-size-nnodes"}),
    ("nnodes-literal-above-size", both(flag(P, "--nnodes", "4"), flag(P, "--tp-size", "32"), flag(P, "--dp-size", "32")),
     {"lws-size-nnodes"}),
    ("no-dp-attention", drop(D, "--enable-dp-attention", False),
     {"multinode-dp-without-dp-attention", "dp-lm-head-without-dp-attention"}),
    ("no-dp-attention-no-lm-head", both(drop(D, "--enable-dp-attention", False), drop(D, "--enable-dp-lm-head", False)),
     {"multinode-dp-without-dp-attention"}),
    ("dp-not-dividing-tp", flag(P, "--dp-size", "6"), {"tp-dp-indivisible"}),
    ("chunk-per-rank-off-page", flag(P, "--chunked-prefill-size", "1088"), {"chunked-prefill-page-size"}),
    ("chunk-off-page", flag(P, "--chunked-prefill-size", "524800"), {"chunked-prefill-page-size"}),
    ("ep-against-deepep", flag(P, "--ep-size", "8"), {"moe-a2a-ep-conflict"}),
    ("ep-alias-against-deepep", flag(D, "--ep", "4"), {"moe-a2a-ep-conflict"}),
    ("redundant-experts-off", flag(D, "--ep-num-redundant-experts", "30"), {"ep-experts-indivisible"}),
    ("annotated-experts-off", annotate(P, "pdcheck.io/num-experts", "250"), {"ep-experts-indivisible"}),
    ("running-below-dp", flag(P, "--max-running-requests", "8"), {"max-running-requests-below-dp"}),
    # the reference decode: 2048 requests over 16 DP ranks = 128 per rank, graphs captured up to 64
    ("reference-cuda-graph-64", flag(D, "--cuda-graph-max-bs", "64"), {"cuda-graph-max-bs-below-running"}),
    ("cuda-graph-no-dp", both(flag(D, "--dp-size", "1"), flag(D, "--cuda-graph-max-bs", "512")),
     {"cuda-graph-max-bs-below-running"}),
    # 2048 requests over 16 DP ranks = 128 per rank: graphs up to 256 are twice what a rank can use
    ("cuda-graph-far-above", flag(D, "--cuda-graph-max-bs", "256"), {"cuda-graph-max-bs-above-running"}),
    # h800-bond-d4x8 before the fix: 1024 / 16 (there 2048 / 32) = 64 per rank, graphs up to 128
    ("cuda-graph-twice-per-rank", flag(D, "--max-running-requests", "1024"), {"cuda-graph-max-bs-above-running"}),
    # attention TP 2 (tp 16, dp 8): 1000 / 8 = 125 per rank, next even captured size 128
    ("cuda-graph-above-attn-tp-multiple", both(flag(D, "--dp-size", "8"), flag(D, "--max-running-requests", "1000"),
                                                flag(D, "--cuda-graph-max-bs", "256")), {"cuda-graph-max-bs-above-running"}),
]

NEAR_MISSES = [
    ("nnodes-literal-right", flag(D, "--nnodes", "2")),
    ("tp-prefix", lambda d: engine(d, P)["args"].__setitem__(engine(d, P)["args"].index("--tp-size"), "--tp")),
    ("dp-1-lm-head-reset", both(flag(D, "--dp-size", "1"), flag(D, "--max-running-requests", "128"))),
    ("chunk-on-decode", flag(D, "--chunked-prefill-size", "1088")),
    ("chunk-default-page", drop(P, "--page-size")),
    ("ep-equal-tp", flag(P, "--ep-size", "16")),
    ("redundant-experts-48", flag(D, "--ep-num-redundant-experts", "48")),
    ("unknown-model", both(flag(P, "--model-path", "/models/my-moe"), flag(D, "--model-path", "/models/my-moe"),
                           flag(D, "--ep-num-redundant-experts", "30"))),
    ("distill-is-dense", both(flag(P, "--model-path", "/m/DeepSeek-R1-Distill-Qwen-32B"), flag(D, "--model-path", "/m/DeepSeek-R1-Distill-Qwen-32B"),
                              flag(D, "--ep-num-redundant-experts", "30"))),
    ("running-equal-dp", flag(P, "--max-running-requests", "16")),
    ("cuda-graph-off", both(flag(D, "--cuda-graph-max-bs", "64"), flag(D, "--disable-cuda-graph"))),
    ("cuda-graph-bs-list", both(flag(D, "--cuda-graph-max-bs", "64"), lambda d: engine(d, D)["args"].extend(["--cuda-graph-bs", "1", "2", "4"]))),
    ("cuda-graph-fits", both(flag(D, "--cuda-graph-max-bs", "64"), flag(D, "--max-running-requests", "1024"))),
    ("cuda-graph-prefill-ignored", flag(P, "--cuda-graph-max-bs", "8")),
    # 248 < 2 x 128: a few graphs too many, not "far above"
    ("cuda-graph-a-little-above", flag(D, "--cuda-graph-max-bs", "248")),
    # 120 per rank runs in the graph of 120; 232 < 240
    ("cuda-graph-below-twice-useful", both(flag(D, "--max-running-requests", "1920"), flag(D, "--cuda-graph-max-bs", "232"))),
    # without DP attention SGLang captures no batch above --max-running-requests
    ("cuda-graph-above-without-dp-attention", both(flag(D, "--dp-size", "1"), flag(D, "--max-running-requests", "32"))),
    # speculative decoding captures another list of sizes
    ("cuda-graph-above-speculative", both(flag(D, "--cuda-graph-max-bs", "256"), flag(D, "--speculative-algorithm", "EAGLE"))),
    ("dp-from-configmap-secret", lambda d: (engine(d, D)["env"].append(
        {"name": "DP", "valueFrom": {"secretKeyRef": {"name": "s", "key": "dp"}}}), set_flag(engine(d, D), "--dp-size", "$(DP)"))),
]

V0523 = [
    # (case id, mutation on the 0.5.23-spelled baseline, rules)
    ("modern-clean", lambda d: None, set()),
    ("deprecated-spelling-still-dp-attention", lambda d: (set_flag(engine(d, D), "--enable-dp-attention"),
                                                          engine(d, D)["args"].__setitem__(engine(d, D)["args"].index("--attn-dp-size"), "--dp-size")),
     {"flag-deprecated"}),
    ("dp-replicas-over-nodes", lambda d: engine(d, D)["args"].__setitem__(engine(d, D)["args"].index("--attn-dp-size"), "--dp-size"),
     {"multinode-dp-without-dp-attention", "dp-lm-head-without-dp-attention"}),
    ("replicas-and-attn-dp", flag(P, "--dp-size", "2"), {"dp-replicas-with-attn-dp"}),
    ("attn-dp-not-dividing-tp", flag(P, "--attn-dp-size", "6"), {"tp-dp-indivisible"}),
    ("running-below-dp-clamped", flag(P, "--max-running-requests", "8"), set()),
    ("cuda-graph-decode-64", flag(D, "--cuda-graph-max-bs-decode", "64"), {"cuda-graph-max-bs-below-running"}),
    ("cuda-graph-decode-disabled", both(flag(D, "--cuda-graph-max-bs-decode", "64"), flag(D, "--cuda-graph-backend-decode", "disabled")), set()),
    # 0.5.23 sizes the request pool per DP worker and captures no graph above it
    ("cuda-graph-decode-far-above-clamped", flag(D, "--cuda-graph-max-bs-decode", "256"), set()),
    ("ep-against-mooncake-a2a", both(flag(P, "--moe-a2a-backend", "mooncake"), flag(P, "--ep-size", "8")), {"moe-a2a-ep-conflict"}),
]


test_baseline_is_clean, test_defect_fires_its_rule_only = defect_tests(CASES)


@pytest.mark.parametrize("mutate", [c[1] for c in NEAR_MISSES], ids=[c[0] for c in NEAR_MISSES])
def test_near_miss_is_clean(mutate):
    docs = baseline()
    mutate(docs)
    assert rules_fired(docs) == set()


@pytest.mark.parametrize("mutate, expected", [c[1:] for c in V0523], ids=[c[0] for c in V0523])
def test_0523_semantics(mutate, expected):
    docs = baseline()
    modern(docs)
    mutate(docs)
    assert rules_fired(docs, sglang_version="0.5.23") == expected


def test_cuda_graph_above_running_names_the_graphs_and_the_fix():
    docs = baseline()
    set_flag(engine(docs, D), "--max-running-requests", "1024")
    (finding,) = run_rules(docs)
    assert finding.rule == "cuda-graph-max-bs-above-running" and finding.object == f"LeaderWorkerSet/{D}"
    args = engine(docs, D)["args"]
    assert finding.path[-2:] == ("args", args.index("--cuda-graph-max-bs"))
    # captured sizes above 64 up to 128: 72, 80, ..., 128
    assert "never batches more than 64" in finding.message and "the 8 graphs above 64" in finding.message
    assert "lower --cuda-graph-max-bs to 64" in finding.fix
