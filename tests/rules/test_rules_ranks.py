"""Rank-level consistency (issue #11 item 7): within one multi-node group every rank runs the same
engine flags, from the same model source, with the same RDMA devices and a distinct --node-rank;
P/D pairing compares the model source too. Each case is one defect on the clean baseline."""

import copy

from ruletest import defect_tests, drop_flag, engine, lws, set_env, set_flag

P, D = "r1-prefill", "r1-decode"


def split(d, name):
    """Give an LWS its own leaderTemplate (a copy of the worker template); return the WORKER pod spec."""
    lwt = lws(d, name)["spec"]["leaderWorkerTemplate"]
    lwt["leaderTemplate"] = copy.deepcopy(lwt["workerTemplate"])
    return lwt["workerTemplate"]["spec"]


def worker_flag(name, flag, value=None):
    return lambda d: set_flag(split(d, name)["containers"][0], flag, value)


def worker_volume(name, volume, **source):
    def apply(d):
        spec = split(d, name)
        for v in spec["volumes"]:
            if v["name"] == volume:
                v.clear()
                v.update({"name": volume, **source})
    return apply


def decode_model_volume(**source):
    def apply(d):
        for v in lws(d, D)["spec"]["leaderWorkerTemplate"]["workerTemplate"]["spec"]["volumes"]:
            if v["name"] == "model":
                v.clear()
                v.update({"name": "model", **source})
    return apply


def decode_model_at(mount_path):
    """Decode mounts the same host directory elsewhere and names it there; both sides set one
    --served-model-name (the name clients and the router see)."""
    def apply(d):
        c = engine(d, D)
        for m in c["volumeMounts"]:
            if m["name"] == "model":
                m["mountPath"] = mount_path
        set_flag(c, "--model-path", mount_path)
        for name in (P, D):
            set_flag(engine(d, name), "--served-model-name", "deepseek-r1")
    return apply


def worker_devices(names):
    """The prefill workers use other NICs, consistently for Mooncake, NCCL and NVSHMEM."""
    def apply(d):
        c = split(d, P)["containers"][0]
        set_flag(c, "--disaggregation-ib-device", ",".join(names))
        set_env(c, "NCCL_IB_HCA", ",".join(names))
        set_env(c, "NVSHMEM_HCA_LIST", ",".join(n + ":1" for n in names))
    return apply


HOST_R1 = {"hostPath": {"path": "/data/models/DeepSeek-R1-0528", "type": "Directory"}}

CASES = [
    # (case id, mutation, rules that must fire and nothing else)
    ("split-leader-near-miss", lambda d: split(d, P), set()),
    # flags
    ("worker-mem-fraction", worker_flag(D, "--mem-fraction-static", "0.8"), {"rank-flag-drift"}),
    ("worker-model-path", worker_flag(D, "--model-path", "/models/DeepSeek-V3"), {"rank-flag-drift"}),
    ("worker-drops-flag", lambda d: drop_flag(split(d, D)["containers"][0], "--enable-dp-lm-head", False), {"rank-flag-drift"}),
    ("worker-other-build", lambda d: split(d, D)["containers"][0].update(image="lmsysorg/sglang:v0.5.6.post2-cu126"),
     {"rank-flag-drift"}),
    ("worker-model-path-trailing-slash-near-miss", worker_flag(D, "--model-path", "/models/DeepSeek-R1-0528/"), set()),
    ("worker-log-level-near-miss", worker_flag(D, "--log-level", "debug"), set()),
    ("worker-metrics-near-miss", worker_flag(D, "--enable-metrics"), set()),
    ("worker-tp-alias-near-miss", lambda d: split(d, D)["containers"][0]["args"].__setitem__(
        split(d, D)["containers"][0]["args"].index("--tp-size"), "--tp"), set()),
    ("worker-mirror-near-miss", lambda d: split(d, D)["containers"][0].update(
        image="registry.example.com/lmsysorg/sglang:v0.5.6.post2-cu129"), set()),
    # node rank
    ("worker-literal-rank-0", worker_flag(P, "--node-rank", "0"), {"node-rank-collision"}),
    ("shared-literal-rank", lambda d: set_flag(engine(d, P), "--node-rank", "0"), {"node-rank-collision"}),
    ("no-node-rank", lambda d: drop_flag(engine(d, P), "--node-rank"), {"node-rank-collision"}),
    ("worker-literal-rank-1-near-miss", worker_flag(P, "--node-rank", "1"), set()),  # size 2: leader 0, worker 1
    # model source
    ("worker-other-checkpoint", worker_volume(D, "model", hostPath={"path": "/data/models/DeepSeek-V3"}),
     {"rank-model-source-drift"}),
    ("worker-pvc", worker_volume(D, "model", persistentVolumeClaim={"claimName": "r1-weights"}), {"rank-model-source-drift"}),
    ("worker-same-path-near-miss", worker_volume(D, "model", hostPath={"path": "/data/models/DeepSeek-R1-0528/"}), set()),
    # RDMA devices
    ("worker-other-nics", worker_devices(["mlx5_0", "mlx5_1", "mlx5_2", "mlx5_3"]), {"rdma-devices-rank-drift", "env-drift"}),
    ("worker-same-nics-reordered-near-miss", worker_devices(["mlx5_bond_3", "mlx5_bond_2", "mlx5_bond_1", "mlx5_bond_0"]),
     {"env-drift"}),
    # P/D model source
    ("decode-other-checkpoint-same-path", decode_model_volume(hostPath={"path": "/data/models/DeepSeek-V3-0324"}),
     {"pd-model-mismatch"}),
    ("decode-same-checkpoint-other-path-near-miss", decode_model_at("/mnt/r1"), set()),
    ("decode-copy-on-pvc-near-miss", decode_model_volume(persistentVolumeClaim={"claimName": "deepseek-r1-0528"}), set()),
]

test_baseline_is_clean, test_defect_fires_its_rule_only = defect_tests(CASES)


def test_flag_drift_names_the_rank_and_both_values():
    from ruletest import baseline, run_rules

    docs = baseline()
    worker_flag(D, "--mem-fraction-static", "0.8")(docs)
    (f,) = [f for f in run_rules(docs) if f.rule == "rank-flag-drift"]
    assert "worker 1 of r1-decode" in f.message and "--mem-fraction-static 0.8 (leader: 0.849)" in f.message
    assert f.path_text.startswith("spec.leaderWorkerTemplate.workerTemplate.spec.containers[0].args")


def test_node_rank_collision_names_both_ranks():
    from ruletest import baseline, run_rules

    docs = baseline()
    drop_flag(engine(docs, P), "--node-rank")
    (f,) = [f for f in run_rules(docs) if f.rule == "node-rank-collision"]
    assert "worker 1 of r1-prefill" in f.message and "the leader" in f.message and "default 0" in f.message
