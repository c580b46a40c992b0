"""Capacity rules: each case is one defect applied to a planned copy of the clean baseline.

The baseline names neither its model nor its GPU, so no plan is made and the capacity rules stay
silent on it (the shared baseline test). `planned()` declares both (DeepSeek-R1-0528 on H800, as
the reference deployment) and sizes the flags so that every capacity rule passes; each case then
breaks one thing.
"""

import pytest

from pdcheck.config import Config
from ruletest import baseline, drop_flag, engine, pod_spec, rules_fired, set_flag

P, D = "r1-prefill", "r1-decode"
MODEL = "deepseek-ai/DeepSeek-R1-0528"


def annotate_pods(docs, key, value):
    for name in (P, D):
        lws_doc = next(d for d in docs if d["metadata"]["name"] == name)
        template = lws_doc["spec"]["leaderWorkerTemplate"]["workerTemplate"]
        template.setdefault("metadata", {}).setdefault("annotations", {})[key] = value


def planned(model=MODEL, gpu="NVIDIA-H800"):
    """The baseline with its model and GPU declared, within every capacity limit: prefill's static
    fraction raised from 0.7 (below R1's ~62.5 GiB of weights per H800) and decode admitting 32
    requests (2 per DP rank) at a 16k context, which the ~37.9k-token pool per rank holds."""
    docs = baseline()
    annotate_pods(docs, "pdcheck.io/model", model)
    if gpu:
        annotate_pods(docs, "pdcheck.io/gpu", gpu)
    set_flag(engine(docs, P), "--mem-fraction-static", "0.849")
    for name in (P, D):
        set_flag(engine(docs, name), "--context-length", "16384")
    set_flag(engine(docs, D), "--max-running-requests", "32")
    # Graphs left to SGLang's default: the baseline's 128 would be far above 32 / 16 DP ranks = 2 per
    # rank (cuda-graph-max-bs-above-running), which is not what these cases are about.
    drop_flag(engine(docs, D), "--cuda-graph-max-bs")
    return docs


def flag(name, f, value):
    def mutate(docs):
        set_flag(engine(docs, name), f, value)
        return docs
    return mutate


def test_planned_baseline_is_clean():
    assert rules_fired(planned()) == set()


CASES = [
    # (case id, mutation of planned(), rules that must fire and nothing else)
    ("reference-prefill-fraction", flag(P, "--mem-fraction-static", "0.7"), {"weights-exceed-static-budget"}),
    # The weights fit at 0.83, but the ~15k-token pool left is smaller than a 32k prefill chunk per rank.
    ("fraction-weights-just-fit", flag(P, "--mem-fraction-static", "0.83"), {"prefill-tokens-exceed-kv-pool"}),
    ("decode-admits-too-many", flag(D, "--max-running-requests", "48"), {"kv-pool-below-running-requests"}),  # 3 per rank
    ("decode-full-context", flag(D, "--context-length", "32768"), {"kv-pool-below-running-requests"}),
    ("decode-admits-few-enough", flag(D, "--max-running-requests", "47"), set()),  # 47 // 16 = 2 per rank
    # Without the flag SGLang derives the limit from the pool itself (tp_worker.py).
    ("decode-default-running-requests", lambda d: (drop_flag(engine(d, D), "--max-running-requests"), d)[1], set()),
    ("prefill-batch-over-pool", flag(P, "--max-prefill-tokens", "131072"), {"prefill-tokens-exceed-kv-pool"}),
    ("prefill-batch-within-pool", flag(P, "--max-prefill-tokens", "37888"), set()),  # the whole pool
    ("prefill-chunk-over-pool", flag(P, "--chunked-prefill-size", "2097152"), {"prefill-tokens-exceed-kv-pool"}),
]


@pytest.mark.parametrize("mutate, expected", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_defect_fires_its_rule_only(mutate, expected):
    assert rules_fired(mutate(planned())) == expected


def test_prefill_running_requests_are_not_held_to_the_context():
    # A P/D prefill server frees KV once transferred: 1024 / 16 = 64 prompts per rank of 16k
    # tokens exceed its pool, and that is not a finding.
    docs = flag(P, "--max-running-requests", "1024")(planned())
    assert rules_fired(docs) == set()


def test_unknown_model_says_so_once():
    findings = [f for f in _run(planned(model="acme/secret-model")) if f.rule == "capacity-plan-unavailable"]
    assert len(findings) == 1
    assert "acme/secret-model" in findings[0].message and "r1-prefill" in findings[0].message
    assert findings[0].severity.value == "info"


def test_model_without_gpu_says_so():
    assert rules_fired(planned(gpu=None)) == {"capacity-plan-unavailable"}


def test_unknown_gpu_says_so():
    assert rules_fired(planned(gpu="NVIDIA-Z9000")) == {"capacity-plan-unavailable"}


def test_gpu_from_the_node_selector():
    docs = planned(gpu=None)
    for name in (P, D):
        pod_spec(docs, name).setdefault("nodeSelector", {})["nvidia.com/gpu.product"] = "NVIDIA-H800"
    assert rules_fired(flag(P, "--mem-fraction-static", "0.7")(docs)) == {"weights-exceed-static-budget"}


def test_gpu_from_the_configuration():
    docs = flag(P, "--mem-fraction-static", "0.7")(planned(gpu=None))
    assert rules_fired(docs, config=Config(gpu="H800")) == {"weights-exceed-static-budget"}


def test_more_memory_per_gpu_fits_the_reference_fraction():
    # The same 0.7 on 141 GB H200s: 0.7 x 137 GiB = 96 GiB holds the 62.5 GiB of weights.
    docs = flag(P, "--mem-fraction-static", "0.7")(planned(gpu="NVIDIA-H200"))
    assert rules_fired(docs) == set()


def test_finding_points_at_the_flag_and_gives_numbers():
    docs = flag(P, "--mem-fraction-static", "0.7")(planned())
    [finding] = [f for f in _run(docs) if f.rule == "weights-exceed-static-budget"]
    assert finding.path[-2:] == ("args", engine(docs, P)["args"].index("--mem-fraction-static"))
    assert "62.5 GiB" in finding.message and "0.7 x" in finding.message
    assert "--mem-fraction-static" in finding.fix


def test_ignore_annotation_suppresses():
    docs = flag(D, "--max-running-requests", "2048")(planned())
    lws_doc = next(d for d in docs if d["metadata"]["name"] == D)
    lws_doc["metadata"].setdefault("annotations", {})["pdcheck.io/ignore"] = "kv-pool-below-running-requests"
    assert rules_fired(docs) == set()


def _run(docs, **kwargs):
    from ruletest import run_rules

    return run_rules(docs, **kwargs)


def test_fix_asks_for_more_gpus_when_no_fraction_would_do():
    # On 40 GB A100s the 62.5 GiB of weights per GPU cannot fit at any static fraction.
    docs = planned(gpu="NVIDIA-A100-SXM4-40GB")
    findings = [f for f in _run(docs) if f.rule == "weights-exceed-static-budget"]
    assert len(findings) == 2 and all("more GPUs" in f.fix and "--mem-fraction-static to" not in f.fix for f in findings)
    [prefill] = [f for f in _run(flag(P, "--mem-fraction-static", "0.7")(planned())) if f.rule == "weights-exceed-static-budget"]
    assert "--mem-fraction-static to at least 0.845" in prefill.fix  # the profile uses 0.849
