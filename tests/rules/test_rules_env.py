"""Env rules: each case is one defect (or a near miss) applied to the clean baseline, and the rules it fires."""

import copy

import pytest

from pdcheck.rules import get_rule

from ruletest import baseline, engine, lws, rules_fired, run_rules, set_env, set_flag

P, D = "r1-prefill", "r1-decode"


def _env_ref_later(d):
    env = engine(d, P)["env"]
    env.insert(0, {"name": "NVSHMEM_HCA_LIST_COPY", "value": "$(NVSHMEM_HCA_LIST)"})


def _init(script):
    def mutate(d):
        spec = lws(d, P)["spec"]["leaderWorkerTemplate"]["workerTemplate"]["spec"]
        spec["initContainers"] = [{"name": "wait", "image": "busybox:1.36", "command": ["sh", "-c", script],
                                   "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}, "limits": {"memory": "32Mi"}}}]
    return mutate


def _leader_template(change=None):
    def mutate(d):
        lwt = lws(d, P)["spec"]["leaderWorkerTemplate"]
        lwt["leaderTemplate"] = copy.deepcopy(lwt["workerTemplate"])
        if change:
            change(lwt["leaderTemplate"]["spec"]["containers"][0])
    return mutate


CASES = [
    # (case id, mutation, rules that must fire and nothing else, sglang version)
    ("unresolved-in-args", lambda d: set_flag(engine(d, P), "--dist-init-addr", "$(LWS_LEADER_ADDRES):20102"), {"unresolved-variable"}, None),
    ("env-refs-later-var", _env_ref_later, {"unresolved-variable"}, None),
    ("envsubst-same-name", lambda d: set_env(engine(d, P), "HF_TOKEN", "$HF_TOKEN"), {"envsubst-placeholder"}, None),
    ("envsubst-undefined-in-args", lambda d: set_flag(engine(d, P), "--model-path", "${MODEL_PATH}"), {"envsubst-placeholder"}, None),
    ("envsubst-undefined-in-env", lambda d: set_env(engine(d, P), "HUGGING_FACE_HUB_TOKEN", "${HF_TOKEN}"), {"envsubst-placeholder"}, None),
    ("shell-var-in-env-defined-before", lambda d: set_env(engine(d, P), "NCCL_IB_HCA_COPY", "$NCCL_IB_HCA"), {"shell-style-variable"}, None),
    ("unresolved-uppercase-in-script", lambda d: engine(d, P).update(command=[
        "sh", "-c", 'exec python3 -m sglang.launch_server "$@" --dist-init-addr $(LWS_LEADER_ADDRES):20102', "--"]),
     {"unresolved-variable"}, None),
    ("unresolved-command-outside-shell", lambda d: set_flag(engine(d, P), "--host", "$(hostname)"), {"unresolved-variable"}, None),
    ("near-miss:arithmetic-and-command-in-script", _init('sleep $(( $(nproc) * 2 )); getent hosts "$(hostname -f)"; echo $((1+2))'), set(), None),
    ("near-miss:arithmetic-in-env-of-script", lambda d: set_env(engine(d, P), "X", "$((1 + 2))"), set(), None),
    ("shell-var-in-args", lambda d: set_flag(engine(d, P), "--dist-init-addr", "$LWS_LEADER_ADDRESS:20102"), {"shell-style-variable"}, None),
    ("near-miss:sh-c-script", _init('echo "$HOSTNAME"'), set(), None),
    ("unread-mooncake-thread", lambda d: set_env(engine(d, P), "SGLANG_MOONCAKE_TRANS_THREAD", "8"), {"unread-sglang-env"}, None),
    ("unread-renamed-in-0.4.10", lambda d: set_env(engine(d, P), "SGLANG_ENABLE_JIT_DEEPGEMM", "1"), {"unread-sglang-env"}, "0.4.10.post2"),
    ("near-miss:read-in-0.5.6", lambda d: set_env(engine(d, P), "SGLANG_ENABLE_JIT_DEEPGEMM", "1"), set(), None),
    ("near-miss:pd-bundle-name", lambda d: set_env(engine(d, P), "PD_MOONCAKE_TRANS_THREAD", "8"), set(), None),
    ("deprecated-sgl-spelling", lambda d: set_env(engine(d, P), "SGL_ENABLE_JIT_DEEPGEMM", "1"), {"deprecated-sgl-env"}, None),
    ("near-miss:sgl-read-as-is-0.5.6", lambda d: set_env(engine(d, P), "SGL_CHUNKED_PREFIX_CACHE_THRESHOLD", "0"), set(), None),
    ("near-miss:sgl-in-0.4.10", lambda d: set_env(engine(d, P), "SGL_ENABLE_JIT_DEEPGEMM", "1"), set(), "0.4.10.post2"),
    ("deprecated-in-0.5.23", lambda d: set_env(engine(d, P), "SGL_CHUNKED_PREFIX_CACHE_THRESHOLD", "0"), {"deprecated-sgl-env"}, "0.5.23"),
    ("drift-leader-value", _leader_template(lambda c: set_env(c, "NCCL_IB_TC", "106")), {"env-drift"}, None),
    ("drift-worker-only", _leader_template(lambda c: c.update(env=c["env"][:-1])), {"env-drift"}, None),
    ("near-miss:same-leader-template", _leader_template(), set(), None),
    ("pool-below-queue", lambda d: set_env(engine(d, P), "SGLANG_DISAGGREGATION_THREAD_POOL_SIZE", "2"), {"mooncake-thread-pool-below-queue"}, None),
    ("queue-above-default-pool", lambda d: set_env(engine(d, P), "SGLANG_DISAGGREGATION_QUEUE_SIZE", "16"), {"mooncake-thread-pool-below-queue"}, None),
    ("near-miss:pool-equals-queue", lambda d: (set_env(engine(d, P), "SGLANG_DISAGGREGATION_THREAD_POOL_SIZE", "8"),
                                              set_env(engine(d, P), "SGLANG_DISAGGREGATION_QUEUE_SIZE", "8")), set(), None),
    ("near-miss:decode-small-pool", lambda d: set_env(engine(d, D), "SGLANG_DISAGGREGATION_THREAD_POOL_SIZE", "2"), set(), None),
]


@pytest.mark.parametrize("mutate, expected, version", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_defect_fires_its_rule_only(mutate, expected, version):
    docs = baseline()
    mutate(docs)
    fired = rules_fired(docs, sglang_version=version)
    if version is not None:  # the baseline's flags are 0.5.6's: other releases flag them (flags rules)
        fired = {r for r in fired if get_rule(r).category == "env"}
    assert fired == expected


def _messages(docs, rule, **kw):
    return [f for f in run_rules(docs, **kw) if f.rule == rule]


def test_env_ref_later_says_defined_after():
    docs = baseline()
    _env_ref_later(docs)
    (f,) = _messages(docs, "unresolved-variable")
    assert "defined after it" in f.message and f.path_text.endswith("env[0].value")


def test_unread_did_you_mean_and_location():
    docs = baseline()
    set_env(engine(docs, P), "SGLANG_ENABLE_JIT_DEEPGEMM", "1")
    (f,) = _messages(docs, "unread-sglang-env", sglang_version="0.4.10.post2")
    assert "did you mean SGL_ENABLE_JIT_DEEPGEMM" in f.fix and f.path_text.endswith(".name")


def test_drift_lists_names_and_values():
    docs = baseline()
    _leader_template(lambda c: set_env(c, "NCCL_IB_TC", "106"))(docs)
    (f,) = _messages(docs, "env-drift")
    assert "NCCL_IB_TC (leader '106', workers '136')" in f.message


def test_env_findings_on_a_guessed_catalog_say_which_and_how_to_pin():
    docs = baseline()
    engine(docs, P)["image"] = "lmsysorg/sglang:latest"
    set_env(engine(docs, P), "SGLANG_MOONCAKE_TRANS_THREAD", "8")
    (f,) = _messages(docs, "unread-sglang-env")
    assert f.severity.value == "warning"
    assert "assumed sglang" in f.message and "--sglang-version" in f.message and ".pdcheck.yaml" in f.message


def test_env_findings_on_a_named_release_do_not_hedge():
    docs = baseline()
    set_env(engine(docs, P), "SGLANG_MOONCAKE_TRANS_THREAD", "8")
    (f,) = _messages(docs, "unread-sglang-env")
    assert "assumed" not in f.message
