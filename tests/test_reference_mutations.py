"""One defect at a time in the reference deployment: the intended rule fires and nothing else appears.

The reference is the seed document's published manifests (the ```yaml blocks of
../shared/seed/000_3bc60c81eb28b8e5.txt; skipped when ../shared is absent), checked with
`--sglang-version 0.4.10.post2`:
- its `lmsysorg/sglang:deepep` tag pins no version, so without a pin pdcheck guesses the newest
  catalog (0.5.23) and every flag finding would depend on that guess;
- 0.4.10.post2 is the oldest release that accepts every flag the reference uses, the one closest to
  when it was published, and the one on which the unmutated reference starts: 0.5.23 rejects its
  `--cuda-graph-max-bs` as ambiguous and 0.5.6.post2 asserts `--prefill-round-robin-balance` on its
  decode (`pd-dp-round-robin`), so with those the baseline already carries start-up errors that a
  mutation could hide behind.

Each case applies one defect (to both templates of an LWS where the defect would be written in
both, as an edit to the published manifests would be) and names the (rule, object) pairs whose
finding count must grow. Counting per (rule, object) rather than comparing paths keeps the check
exact when a mutation deletes a list item (paths after it shift), while still catching a second
finding of a rule that already fires on the same object. Findings that disappear are allowed (a
defect can mask a weaker one, e.g. a removed /dev/shm volume has no size limit to miss).
"""

from __future__ import annotations

import copy
import re
from collections import Counter
from functools import lru_cache

import pytest
import yaml

from reference_material import shared_path
from ruletest import run_rules

VERSION = "0.4.10.post2"

P, D = "deepseekr10528-prefill-main", "deepseekr10528-decode-main"
LWS_P, LWS_D = f"LeaderWorkerSet/{P}", f"LeaderWorkerSet/{D}"
ROUTER = "deepseekr10528-lb-main"
BOTH = ("leader", "worker")


@lru_cache(maxsize=None)
def _reference() -> tuple:
    blocks = re.findall(r"^```yaml\n(.*?)^```", shared_path("seed", "000_3bc60c81eb28b8e5.txt").read_text(encoding="utf-8"), re.S | re.M)
    return tuple(d for b in blocks for d in yaml.safe_load_all(b) if d is not None)


def reference() -> list[dict]:
    return copy.deepcopy(list(_reference()))


def counts(docs: list[dict]) -> Counter:
    return Counter((f.rule, f.object) for f in run_rules(docs, sglang_version=VERSION))


@pytest.fixture(scope="module")
def baseline_counts():
    return counts(reference())


# --- Editing the published manifests --------------------------------------------------------------

def obj(docs, kind, name):
    return next(d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name)


def lws_spec(docs, name):
    return obj(docs, "LeaderWorkerSet", name)["spec"]


def template(docs, name, rank):
    return lws_spec(docs, name)["leaderWorkerTemplate"][f"{rank}Template"]["spec"]


def engine(docs, name, rank):
    return template(docs, name, rank)["containers"][0]


def set_flag(docs, name, flag, value=None, ranks=BOTH):
    """Replace the value of `flag` (or add `flag [value]`) in the engine command of these ranks."""
    for rank in ranks:
        cmd = engine(docs, name, rank)["command"]
        if flag not in cmd:
            cmd += [flag] if value is None else [flag, value]
        elif value is not None:
            cmd[cmd.index(flag) + 1] = value


def drop_flag(docs, name, flag, takes_value=True, ranks=BOTH):
    for rank in ranks:
        cmd = engine(docs, name, rank)["command"]
        i = cmd.index(flag)
        del cmd[i : i + (2 if takes_value else 1)]


def rename_flag(docs, name, old, new, ranks=BOTH):
    for rank in ranks:
        cmd = engine(docs, name, rank)["command"]
        cmd[cmd.index(old)] = new


def set_env(docs, name, var, value, ranks=BOTH):
    for rank in ranks:
        env = engine(docs, name, rank)["env"]
        entry = next((e for e in env if e["name"] == var), None)
        if entry is None:
            env.append({"name": var, "value": value})
        else:
            entry["value"] = value


def router_arg(docs, old, new):
    cmd = obj(docs, "Deployment", ROUTER)["spec"]["template"]["spec"]["containers"][0]["command"]
    cmd[cmd.index(old)] = new


def drop_dev_shm(docs):
    """Prefill workers lose /dev/shm: no dshm volume or mount, and no hostIPC (which would give them the host's)."""
    spec = template(docs, P, "worker")
    del spec["hostIPC"]
    spec["volumes"] = [v for v in spec["volumes"] if v["name"] != "dshm"]
    c = spec["containers"][0]
    c["volumeMounts"] = [m for m in c["volumeMounts"] if m["name"] != "dshm"]


def unprivileged(docs):
    for rank in BOTH:
        del engine(docs, D, rank)["securityContext"]["privileged"]


# --- The defects ----------------------------------------------------------------------------------

CASES = [
    # (id, defect, (rule, object) pairs whose findings must appear, and no others)
    # parallelism
    ("tp-32", lambda d: set_flag(d, D, "--tp-size", "32"),
     {("tp-gpu-mismatch", LWS_D)}),
    # A literal --nnodes other than the group size also breaks tp = nnodes x GPUs per pod: both are reported.
    ("nnodes-literal-4", lambda d: set_flag(d, P, "--nnodes", "4"),
     {("lws-size-nnodes", LWS_P), ("tp-gpu-mismatch", LWS_P)}),
    # 0.4.10 asserts both: DP across nodes needs DP attention, and so does --enable-dp-lm-head.
    ("drop-enable-dp-attention", lambda d: drop_flag(d, P, "--enable-dp-attention", takes_value=False),
     {("multinode-dp-without-dp-attention", LWS_P), ("dp-lm-head-without-dp-attention", LWS_P)}),
    ("dp-32-over-tp-16", lambda d: set_flag(d, P, "--dp-size", "32"),
     {("tp-dp-indivisible", LWS_P)}),
    ("max-running-requests-8-over-dp-16", lambda d: set_flag(d, D, "--max-running-requests", "8"),
     {("max-running-requests-below-dp", LWS_D)}),
    # pairing
    ("decode-page-size-128", lambda d: set_flag(d, D, "--page-size", "128"),
     {("pd-page-size-mismatch", LWS_D)}),
    ("decode-transfer-backend-nixl", lambda d: set_flag(d, D, "--disaggregation-transfer-backend", "nixl"),
     {("pd-transfer-backend-mismatch", LWS_D)}),
    ("decode-kv-cache-fp8", lambda d: set_flag(d, D, "--kv-cache-dtype", "fp8_e5m2"),
     {("pd-kv-cache-dtype-mismatch", LWS_D)}),
    ("decode-other-model", lambda d: set_flag(d, D, "--model-path", "/work/models-v3"),
     {("pd-model-mismatch", LWS_D)}),
    # router
    ("router-url-on-bootstrap-port",
     lambda d: router_arg(d, f"http://{P}:30000", f"http://{P}:8998"),
     {("router-url-port", f"Deployment/{ROUTER}")}),
    ("router-url-to-missing-service",
     lambda d: router_arg(d, f"http://{D}:30000", "http://deepseekr10528-decode:30000"),
     {("router-url-unverifiable", f"Deployment/{ROUTER}")}),
    ("two-prefill-replicas-behind-one-url", lambda d: lws_spec(d, P).__setitem__("replicas", 2),
     {("router-static-multi-replica-prefill", f"Deployment/{ROUTER}")}),
    # network
    ("hostnetwork-without-clusterfirstwithhostnet", lambda d: template(d, P, "worker").pop("dnsPolicy"),
     {("hostnetwork-dns-policy", LWS_P)}),
    ("leader-host-loopback", lambda d: drop_flag(d, P, "--host", ranks=("leader",)),
     {("engine-host-loopback", LWS_P)}),
    ("worker-dist-init-port", lambda d: set_flag(d, D, "--dist-init-addr", "$(LWS_LEADER_ADDRESS):20103", ranks=("worker",)),
     {("dist-init-addr-rank-mismatch", LWS_D)}),
    ("worker-bootstrap-port", lambda d: set_flag(d, P, "--disaggregation-bootstrap-port", "9000", ranks=("worker",)),
     {("bootstrap-port-rank-mismatch", LWS_P)}),
    # env
    ("unresolved-var-typo", lambda d: set_flag(d, D, "--dist-init-addr", "$(LWS_LEADER_ADDRES):20102", ranks=("worker",)),
     {("unresolved-variable", LWS_D)}),
    ("shell-style-var", lambda d: set_flag(d, D, "--dist-init-addr", "$LWS_LEADER_ADDRESS:20102"),
     {("shell-style-variable", LWS_D)}),
    ("mooncake-thread-pool-2", lambda d: set_env(d, P, "SGLANG_DISAGGREGATION_THREAD_POOL_SIZE", "2"),
     {("mooncake-thread-pool-below-queue", LWS_P)}),
    # rdma
    ("nccl-ib-hca-wrong-devices", lambda d: set_env(d, D, "NCCL_IB_HCA", "mlx5_0,mlx5_1,mlx5_2,mlx5_3"),
     {("rdma-device-excluded", LWS_D)}),
    ("nccl-ib-hca-excludes-a-bond", lambda d: set_env(d, D, "NCCL_IB_HCA", "^=mlx5_bond_0"),
     {("rdma-device-excluded", LWS_D)}),
    # DeepEP IBGDA and the hostPath /dev/infiniband both need privileged (privileged-without-reason goes away).
    ("drop-privileged", unprivileged,
     {("deepep-ibgda-unprivileged", LWS_D), ("rdma-devices-missing", LWS_D)}),
    # pods
    ("lws-restart-policy-none", lambda d: lws_spec(d, D)["leaderWorkerTemplate"].__setitem__("restartPolicy", "None"),
     {("lws-restart-policy", LWS_D)}),
    ("startup-policy-leader-ready", lambda d: lws_spec(d, D).__setitem__("startupPolicy", "LeaderReady"),
     {("leader-ready-deadlock", LWS_D)}),
    ("missing-dev-shm", drop_dev_shm,
     {("dev-shm-missing", LWS_P)}),
    ("liveness-without-startup-probe",
     lambda d: engine(d, D, "leader").__setitem__("livenessProbe", {"httpGet": {"path": "/health", "port": 30000}, "timeoutSeconds": 5}),
     {("liveness-without-startup", LWS_D)}),
    ("readiness-probe-on-worker-port",
     lambda d: engine(d, D, "leader")["readinessProbe"].__setitem__("tcpSocket", {"port": 30001}),
     {("probe-port-not-served", LWS_D)}),
    ("rollout-max-unavailable-0",
     lambda d: lws_spec(d, D)["rolloutStrategy"]["rollingUpdateConfiguration"].__setitem__("maxUnavailable", 0),
     {("lws-rollout-no-progress", LWS_D)}),
    # flags
    ("unknown-flag", lambda d: rename_flag(d, D, "--mem-fraction-static", "--mem-fraction-statc"),
     {("flag-unknown", LWS_D)}),
    ("invalid-choice", lambda d: set_flag(d, D, "--moe-a2a-backend", "deep-ep"),
     {("flag-invalid-value", LWS_D)}),
    ("deprecated-flag", lambda d: set_flag(d, D, "--enable-deepep-moe"),
     {("flag-deprecated", LWS_D)}),
    # security
    ("decode-service-nodeport", lambda d: obj(d, "Service", D)["spec"].__setitem__("type", "NodePort"),
     {("exposed-without-auth", f"Service/{D}")}),
]


@pytest.mark.parametrize("defect, expected", [pytest.param(f, e, id=i) for i, f, e in CASES])
def test_one_defect(baseline_counts, defect, expected):
    docs = reference()
    defect(docs)
    after = counts(docs)
    grown = {k for k, n in after.items() if n > baseline_counts[k]}
    assert grown == expected


def test_baseline_has_none_of_the_intended_findings(baseline_counts):
    """Each intended finding is new: the unmutated reference does not already report it."""
    for _, _, expected in CASES:
        assert not any(baseline_counts[k] for k in expected), expected
