"""RDMA rules: each case is one defect applied to the clean baseline, and the rules it fires."""


from ruletest import defect_tests, drop_env, engine, lws, set_env, set_flag

P, D = "r1-prefill", "r1-decode"


def unprivileged(docs, name):
    engine(docs, name)["securityContext"].pop("privileged")


def device_plugin(docs, name):
    """RDMA devices from a device plugin instead of the hostPath mount."""
    c = engine(docs, name)
    c["resources"]["limits"]["rdma/hca_shared_devices_a"] = "1"
    c["volumeMounts"] = [m for m in c["volumeMounts"] if m["name"] != "infiniband"]


def annotate(docs, name, key, value):
    lws(docs, name)["spec"]["leaderWorkerTemplate"]["workerTemplate"]["metadata"].setdefault("annotations", {})[key] = value


CASES = [
    # (case id, mutation, rules that must fire and nothing else)
    ("nccl-excludes-kv-device", lambda d: set_env(engine(d, P), "NCCL_IB_HCA", "^=mlx5_bond_0,mlx5_5"), {"rdma-device-excluded"}),
    ("nccl-prefix-exclusion", lambda d: set_env(engine(d, P), "NCCL_IB_HCA", "^mlx5_bond"), {"rdma-device-excluded"}),
    ("nccl-disjoint", lambda d: set_env(engine(d, D), "NCCL_IB_HCA", "mlx5_0,mlx5_1"), {"rdma-device-excluded"}),
    ("nvshmem-excludes", lambda d: set_env(engine(d, D), "NVSHMEM_HCA_LIST", "^mlx5_bond_3:1"), {"rdma-device-excluded"}),
    ("nccl-reference-exclusion", lambda d: set_env(engine(d, P), "NCCL_IB_HCA", "^=mlx5_0,mlx5_5,mlx5_6"), set()),
    ("nccl-prefix-all", lambda d: set_env(engine(d, P), "NCCL_IB_HCA", "mlx5_bond"), set()),
    ("nccl-with-ports", lambda d: set_env(engine(d, P), "NCCL_IB_HCA", "=mlx5_bond_0:1,mlx5_bond_1:1,mlx5_bond_2:1,mlx5_bond_3:1"), set()),
    ("nccl-subset", lambda d: set_env(engine(d, P), "NCCL_IB_HCA", "=mlx5_bond_0,mlx5_bond_1"), {"rdma-device-sets-differ"}),
    ("nvshmem-superset", lambda d: set_env(engine(d, D), "NVSHMEM_HCA_LIST", "mlx5_bond_0:1,mlx5_bond_1:1,mlx5_bond_2:1,mlx5_bond_3:1,mlx5_bond_4:1"),
     {"rdma-device-sets-differ"}),
    ("nvshmem-list-inactive", lambda d: set_env(engine(d, D), "NVSHMEM_HCA_LIST", "mlx5_0:1") or set_env(engine(d, D), "NVSHMEM_ENABLE_NIC_PE_MAPPING", "0"), set()),
    ("kv-devices-json", lambda d: set_flag(engine(d, P), "--disaggregation-ib-device",
                                           '{"0": "mlx5_bond_0", "1": "mlx5_bond_1", "2": "mlx5_bond_2", "3": "mlx5_bond_3"}'), set()),
    ("roce-no-nvshmem-gid", lambda d: drop_env(engine(d, D), "NVSHMEM_IB_GID_INDEX"), {"roce-gid-index-missing"}),
    ("ib-fabric-no-nvshmem-gid", lambda d: drop_env(engine(d, D), "NVSHMEM_IB_GID_INDEX") or annotate(d, D, "pdcheck.io/fabric", "infiniband"), set()),
    ("no-nccl-gid-is-fine", lambda d: drop_env(engine(d, D), "NCCL_IB_GID_INDEX"), set()),
    ("hostpath-unprivileged", lambda d: unprivileged(d, P), {"rdma-devices-missing", "deepep-ibgda-unprivileged"}),
    ("no-devices", lambda d: engine(d, D).update({"volumeMounts": [m for m in engine(d, D)["volumeMounts"] if m["name"] != "infiniband"]})
     or unprivileged(d, D), {"rdma-devices-missing", "deepep-ibgda-unprivileged"}),
    ("device-plugin-unprivileged", lambda d: device_plugin(d, D) or unprivileged(d, D), {"deepep-ibgda-unprivileged"}),
    ("device-plugin-privileged", lambda d: device_plugin(d, D), set()),
    ("no-ipc-lock", lambda d: engine(d, D)["securityContext"].update({"capabilities": {"add": []}}) or device_plugin(d, D) or unprivileged(d, D),
     {"rdma-memlock", "deepep-ibgda-unprivileged"}),
]


test_baseline_is_clean, test_defect_fires_its_rule_only = defect_tests(CASES)
