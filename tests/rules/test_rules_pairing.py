"""Pairing rules: each case is one defect (or near miss) applied to the clean baseline, and the rules it fires."""


from ruletest import defect_tests, baseline, drop_flag, engine, rules_fired, set_flag

P, D = "r1-prefill", "r1-decode"


def both(d, flag, value=None):
    set_flag(engine(d, P), flag, value)
    set_flag(engine(d, D), flag, value)


def router_args(d):
    return engine(d, "r1-router")["args"]


def no_router(d):
    d[:] = [x for x in d if x["metadata"]["name"] != "r1-router"]


def decode(d, tp, dp, pp="1", gpus="8"):
    c = engine(d, D)
    for flag, value in (("--tp-size", tp), ("--dp-size", dp), ("--pp-size", pp), ("--max-running-requests", str(128 * int(dp)))):
        set_flag(c, flag, value)
    c["resources"]["limits"]["nvidia.com/gpu"] = gpus


def decode_tp12_dp4(d):
    decode(d, tp="12", dp="4", gpus="6")


def prefill_pp2(d):
    for flag, value in (("--tp-size", "8"), ("--dp-size", "8"), ("--pp-size", "2")):
        set_flag(engine(d, P), flag, value)


CASES = [
    # (case id, mutation, rules that must fire and nothing else)
    ("both-urls-prefill", lambda d: router_args(d).__setitem__(router_args(d).index("http://r1-decode-leader:28000"), "http://r1-prefill-leader:28000"),
     {"pd-role-mismatch"}),
    ("transfer-backend", lambda d: set_flag(engine(d, D), "--disaggregation-transfer-backend", "nixl"), {"pd-transfer-backend-mismatch"}),
    ("transfer-backend-default-near-miss", lambda d: set_flag(engine(d, D), "--disaggregation-transfer-backend", "mooncake"), set()),
    ("transfer-backend-no-router", lambda d: (no_router(d), set_flag(engine(d, D), "--disaggregation-transfer-backend", "nixl")),
     {"pd-transfer-backend-mismatch"}),
    ("model-path", lambda d: set_flag(engine(d, D), "--model-path", "/models/DeepSeek-V3"), {"pd-model-mismatch"}),
    ("served-name", lambda d: set_flag(engine(d, P), "--served-model-name", "r1"), {"pd-model-mismatch"}),
    ("served-name-both-near-miss", lambda d: both(d, "--served-model-name", "r1"), set()),
    ("page-size", lambda d: set_flag(engine(d, D), "--page-size", "32"), {"pd-page-size-mismatch"}),
    ("page-size-unset-near-miss", lambda d: drop_flag(engine(d, D), "--page-size"), set()),
    ("kv-dtype", lambda d: set_flag(engine(d, P), "--kv-cache-dtype", "fp8_e4m3"), {"pd-kv-cache-dtype-mismatch"}),
    ("kv-dtype-alias-near-miss", lambda d: (set_flag(engine(d, P), "--kv-cache-dtype", "bf16"), set_flag(engine(d, D), "--kv-cache-dtype", "bfloat16")), set()),
    # attention TP = tp / dp under DP attention; tp x pp stays 16 = 2 nodes x 8 GPUs
    ("attn-tp-multiple-near-miss", lambda d: set_flag(engine(d, P), "--dp-size", "8"), set()),  # 2 vs 1
    ("attn-tp-not-multiple", lambda d: (set_flag(engine(d, P), "--dp-size", "8"), decode_tp12_dp4(d)), {"pd-attn-tp-not-multiple"}),  # 2 vs 3
    ("pp", lambda d: (prefill_pp2(d), decode(d, tp="4", dp="4", pp="4")), {"pd-pp-mismatch"}),
    ("pp-decode-1-near-miss", prefill_pp2, set()),
    ("decode-dp-without-rr-balance", lambda d: drop_flag(engine(d, D), "--prefill-round-robin-balance", False), {"pd-dp-round-robin"}),
    ("prefill-shortest-queue", lambda d: set_flag(engine(d, P), "--load-balance-method", "shortest_queue"), {"pd-dp-round-robin"}),
]


test_baseline_is_clean, test_defect_fires_its_rule_only = defect_tests(CASES)


def test_rr_balance_only_where_asserted():
    docs = baseline()
    drop_flag(engine(docs, D), "--prefill-round-robin-balance", False)
    assert "pd-dp-round-robin" in rules_fired(docs, sglang_version="0.5.6.post2")
    assert "pd-dp-round-robin" not in rules_fired(docs, sglang_version="0.5.23")
