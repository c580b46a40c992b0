"""overlays/h800-bond runs what the reference deployment runs, except for listed, intended fixes.

For each role (prefill, decode, router) and rank kind (leader, worker), the effective launch flags
(after LWS env injection, envFrom and $(VAR) expansion, parsed with SGLang's own argument rules so
`--tp` and `--tp-size` compare equal) and the effective env of the reference's manifests (taken
from ../shared/seed, skipped when absent) and of our render must be equal, but for ALLOWED below.
"""

import re
from pathlib import Path

import pytest

from pdcheck.argv import ERROR_KINDS
from pdcheck.discover import resolve_inputs
from pdcheck.model import build_model
from pdcheck.objects import Render
from pdcheck.render import objects_from_stream, render_all
from reference_material import shared_path

REPO = Path(__file__).resolve().parents[1]
# Both sides are parsed with the catalog of the release the bundle pins (the reference's
# `deepep` tag pins none).
VERSIONS = {"sglang": "0.5.6.post2", "sglang-router": "0.3.2"}
# The reference names its LWSs deepseekr10528-{prefill,decode}-main in the default namespace; ours
# are sglang-{prefill,decode} in sglang-pd. Leader addresses are compared after this renaming.
RENAMES = {
    "deepseekr10528-prefill-main-0.deepseekr10528-prefill-main.default": "sglang-prefill-0.sglang-prefill.sglang-pd",
    "deepseekr10528-decode-main-0.deepseekr10528-decode-main.default": "sglang-decode-0.sglang-decode.sglang-pd",
    "http://deepseekr10528-prefill-main:30000": "http://sglang-prefill-leader:30000",
    "http://deepseekr10528-decode-main:30000": "http://sglang-decode-leader:30000",
}
ANY = "*"

# (kind, name, role, rank kind) -> (reference value, our value, why). Role/rank ANY matches all.
# A value of None means "absent". Every entry must be used: a stale one fails the test.
ALLOWED = {
    # --- Site paths and explicit defaults ---
    ("flag", "--model-path", ANY, ANY): ("/work/models", "/models/deepseek_r1_0528", "mount point named after the model (site value)"),
    ("flag", "--disaggregation-bootstrap-port", ANY, ANY): (None, "8998", "the default, written once so router, Service and engines name the same port"),
    ("flag", "--disaggregation-transfer-backend", ANY, ANY): (None, "mooncake", "the default, written once so both roles provably agree"),
    # --- Fixes ---
    ("flag", "--host", ANY, "worker"): (None, "0.0.0.0", "one template for all ranks: workers serve the /health stub on --host/--port"),
    # The engines run on the host network: the reference's 30000 (SGLang's default) is the first port
    # of the Service NodePort range 30000-32767, where a Service given that node port would take the
    # traffic on every node (pdcheck hostnetwork-port-in-nodeport-range). Moved to 28000, below it.
    ("flag", "--port", ANY, "leader"): ("30000", "28000", "hostNetwork port moved out of the NodePort range 30000-32767"),
    ("flag", "--port", ANY, "worker"): (None, "28000", "one template for all ranks: workers serve the /health stub on --host/--port (outside the NodePort range)"),
    ("flag", "--load-balance-method", "prefill", ANY): (None, "round_robin", "SGLang 0.5.2-0.5.6 refuse decode dp > 1 without round-robin prefill balancing"),
    ("flag", "--prefill-round-robin-balance", "decode", ANY): (None, "", "SGLang 0.5.2-0.5.6 refuse decode dp > 1 without it"),
    ("flag", "--prefill", "router", ANY): ("http://sglang-prefill-leader:30000", "http://sglang-prefill-leader:28000 8998",
                                           "names the bootstrap port reachable at the prefill Service (router sends bootstrap_host = that host); engine port 28000 (see --port)"),
    ("flag", "--decode", "router", ANY): ("http://sglang-decode-leader:30000", "http://sglang-decode-leader:28000",
                                          "engine port moved out of the NodePort range (see --port)"),
    ("flag", "--mem-fraction-static", "prefill", ANY): ("0.7", "0.849", "0.7 x 80 GB is below the ~62.5 GiB of R1 weights per GPU at tp=dp=ep 16 (pdcheck plan: weights-exceed-static-budget); decode's value on the same nodes"),
    ("flag", "--cuda-graph-max-bs", "decode", ANY): ("64", "128", "2048 running / 16 DP ranks = 128 per rank: graphs up to 64 left larger batches eager"),
    ("flag", "--api-key", "router", ANY): (None, "<secret:sglang-router-api-key>", "NodePort exposure requires an API key (profiles/security/api-key)"),
    ("flag", "--worker-startup-timeout-secs", "router", ANY): (None, "3900", "outlasts the engines' one-hour startup budget"),
    ("env", "CUDA_LAUNCH_BLOCKING", ANY, ANY): ("0", None, "0 is the CUDA default; set on some ranks only in the reference"),
    ("env", "SGLANG_MOONCAKE_TRANS_THREAD", ANY, ANY): ("*", None, "read nowhere by SGLang 0.5.6"),
    ("env", "SGLANG_HACK_DEEPEP_NUM_SMS", ANY, "worker"): ("*", None, "read nowhere by SGLang 0.5.6 (and set on workers only)"),
    ("env", "SGLANG_HACK_DEEPEP_NEW_MODE", ANY, "worker"): ("*", None, "read nowhere by SGLang 0.5.6 (and set on workers only)"),
    ("env", "MC_TE_METRIC", "prefill", "leader"): ("false", "true", "leader and workers differed for no stated reason: unified to the workers' value"),
    ("env", "NVSHMEM_IB_TRAFFIC_CLASS", ANY, "leader"): (None, "16", "set on workers only in the reference: unified"),
    ("env", "NVSHMEM_HCA_LIST", ANY, ANY): (None, "mlx5_bond_0,mlx5_bond_1,mlx5_bond_2,mlx5_bond_3", "NVSHMEM uses the same NICs as Mooncake and NCCL (commented out in the reference)"),
    ("env", "NCCL_IB_GID_INDEX", ANY, ANY): (None, "3", "RoCE v2 GID for NCCL too, not only NVSHMEM"),
    ("env", "MC_GID_INDEX", ANY, ANY): (None, "3", "RoCE v2 GID for Mooncake's transfer engine"),
    ("env", "SGL_CHUNKED_PREFIX_CACHE_THRESHOLD", "prefill", "leader"): (None, "0", "set on prefill workers only in the reference: unified"),
}
# Our ConfigMap keys (PD_*) exist only to be expanded into flags; they are compared through the flags.
OUR_ONLY_ENV_PREFIX = "PD_"


def _renamed(value: str) -> str:
    for old, new in RENAMES.items():
        value = value.replace(old, new)
    return value


def _effective(render: Render) -> dict:
    model = build_model(render, VERSIONS)
    out = {}
    for wl in model.workloads:
        for pod in wl.pods[:2]:
            c = pod.engine or pod.router
            if c is None:
                continue
            assert not any(p.kind in ERROR_KINDS for p in c.parsed.problems), [p.detail for p in c.parsed.problems]
            flags = {}
            for arg in c.parsed.args:
                value = " ".join(_renamed(v) for v in arg.values)
                flags[arg.option_string] = value
            env = {name: _renamed(var.display) for name, var in c.env.items()}
            out[(wl.role, "leader" if pod.rank == 0 else "worker")] = {"flag": flags, "env": env}
    return out


def _allowed(kind, name, role, rank):
    for (k, n, r, rk), entry in ALLOWED.items():
        if k == kind and n == name and r in (ANY, role) and rk in (ANY, rank):
            return (k, n, r, rk), entry
    return None, None


@pytest.fixture(scope="module")
def both():
    seed = shared_path("seed", "000_3bc60c81eb28b8e5.txt")
    blocks = re.findall(r"```yaml\n(.*?)```", seed.read_text(encoding="utf-8"), re.S)
    objects, non_objects = objects_from_stream("\n---\n".join(blocks), "seed", None)
    reference = _effective(Render("seed", "file", objects, non_objects))
    ours = _effective(render_all(resolve_inputs([str(REPO / "overlays" / "h800-bond")]))[0])
    return reference, ours


def test_same_pods(both):
    reference, ours = both
    assert set(reference) == set(ours) == {
        ("prefill", "leader"), ("prefill", "worker"), ("decode", "leader"), ("decode", "worker"), ("router", "leader"),
    }


def test_effective_flags_and_env_match_the_reference(both):
    reference, ours = both
    used, unexpected = set(), []
    for key in reference:
        for kind in ("flag", "env"):
            ref, our = reference[key][kind], ours[key][kind]
            for name in sorted(set(ref) | set(our)):
                if kind == "env" and name.startswith(OUR_ONLY_ENV_PREFIX) and name not in ref:
                    continue
                if ref.get(name) == our.get(name):
                    continue
                rule, entry = _allowed(kind, name, *key)
                if entry is None:
                    unexpected.append(f"{key} {kind} {name}: reference {ref.get(name)!r}, ours {our.get(name)!r}")
                    continue
                expected_ref, expected_our, _why = entry
                if expected_ref != "*" and ref.get(name) != expected_ref or our.get(name) != expected_our:
                    unexpected.append(f"{key} {kind} {name}: allowed {expected_ref!r} -> {expected_our!r}, "
                                      f"got {ref.get(name)!r} -> {our.get(name)!r}")
                used.add(rule)
    assert not unexpected, "\n".join(unexpected)
    assert set(ALLOWED) - used == set(), "stale allow-list entries"
