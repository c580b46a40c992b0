"""Security rules: each case is one defect (or a near miss) applied to the clean baseline, and the
exact set of rules it fires. The shipped overlays, alone and with the opt-in security components,
must stay clean."""

import shutil
import tempfile
from pathlib import Path

import pytest
import yaml

from pdcheck.checker import Options, run
from pdcheck.rules.security._common import image_pin_problem
from ruletest import baseline, defect_tests, engine, find, lws, pod_spec, run_rules, set_flag

REPO = Path(__file__).resolve().parents[2]
DIGEST = "sha256:" + "0123456789abcdef" * 4
REASON = "pdcheck.io/privileged-reason"


# --- mutations ------------------------------------------------------------------------------------

def engines(d):
    return [lws(d, "r1-prefill"), lws(d, "r1-decode")]


def privileged(d, reason=None):
    """Both engine templates privileged (DeepEP needs it), with the given reason annotation or none."""
    for obj in engines(d):
        tpl = obj["spec"]["leaderWorkerTemplate"]["workerTemplate"]
        tpl["spec"]["containers"][0].setdefault("securityContext", {})["privileged"] = True
        annotations = tpl["metadata"].setdefault("annotations", {})
        annotations.pop(REASON, None)
        if reason is not None:
            annotations[REASON] = reason


def privileged_init(d):
    privileged(d, "RDMA devices from hostPath, NVSHMEM IBGDA (sglang#12533)")
    pod_spec(d, "r1-prefill")["initContainers"] = [{
        "name": "setup", "image": "busybox:1.36.1", "command": ["true"], "securityContext": {"privileged": True}}]
    lws(d, "r1-prefill")["spec"]["leaderWorkerTemplate"]["workerTemplate"]["metadata"]["annotations"].pop(REASON)


def host_mount(d, host_path, mount_path, read_only=None):
    spec = pod_spec(d, "r1-decode")
    spec["volumes"].append({"name": "extra", "hostPath": {"path": host_path, "type": "DirectoryOrCreate"}})
    mount = {"name": "extra", "mountPath": mount_path}
    if read_only is not None:
        mount["readOnly"] = read_only
    spec["containers"][0]["volumeMounts"].append(mount)


def init_download(d, sidecar=False):
    """The AIBrix idiom: an init container downloads the weights into the hostPath the engine reads
    (read-only here, so only the init container's mount can be reported)."""
    spec = pod_spec(d, "r1-decode")
    spec["volumes"].append({"name": "models", "hostPath": {"path": "/root/models", "type": "DirectoryOrCreate"}})
    spec["containers"][0]["volumeMounts"].append({"name": "models", "mountPath": "/models", "readOnly": True})
    init = {"name": "download", "image": "busybox:1.36.1", "command": ["true"],
            "volumeMounts": [{"name": "models", "mountPath": "/models"}]}
    if sidecar:
        init["restartPolicy"] = "Always"
    spec["initContainers"] = [init]


def model_writable(d):
    for m in engine(d, "r1-prefill")["volumeMounts"]:
        if m["name"] == "model":
            del m["readOnly"]


def service_type(d, name, kind):
    find(d, "Service", name)["spec"]["type"] = kind


def api_key(container):
    container.setdefault("env", []).insert(0, {"name": "API_KEY", "valueFrom": {
        "secretKeyRef": {"name": "sglang-router-api-key", "key": "api-key"}}})
    set_flag(container, "--api-key", "$(API_KEY)")


def router(d):
    return engine(d, "r1-router")


def nodeport_with_key(d):
    service_type(d, "r1-router", "NodePort")
    api_key(router(d))


def loadbalancer_engine_with_key(d):
    service_type(d, "r1-prefill-leader", "LoadBalancer")
    api_key(engine(d, "r1-prefill"))


def nodeport_selecting_nothing(d):
    svc = find(d, "Service", "r1-router")
    svc["spec"]["type"] = "NodePort"
    svc["spec"]["selector"] = {"app.kubernetes.io/name": "something-else"}


def probe(d, which, value):
    if value is None:
        router(d).pop(which)
    else:
        router(d)[which] = value


def image(d, name, ref):
    engine(d, name)["image"] = ref


def shm(d, volume_name="dshm", mount_path=None):
    spec = pod_spec(d, "r1-prefill")
    vol = next(v for v in spec["volumes"] if v["name"] == volume_name)
    del vol["emptyDir"]["sizeLimit"]
    if mount_path:
        for m in spec["containers"][0]["volumeMounts"]:
            if m["name"] == volume_name:
                m["mountPath"] = mount_path


def scratch_without_limit(d):
    spec = pod_spec(d, "r1-prefill")
    spec["volumes"].append({"name": "scratch", "emptyDir": {}})
    spec["containers"][0]["volumeMounts"].append({"name": "scratch", "mountPath": "/tmp/scratch"})


CASES = [
    # (case id, mutation, rules that must fire and nothing else)
    ("privileged-no-reason", lambda d: privileged(d), {"privileged-without-reason"}),
    ("privileged-blank-reason", lambda d: privileged(d, "  "), {"privileged-without-reason"}),
    ("privileged-init-container", privileged_init, {"privileged-without-reason"}),
    ("near-miss:privileged-with-reason", lambda d: privileged(d, "RDMA devices, NVSHMEM IBGDA (sglang#12533)"), set()),

    ("model-mount-writable", model_writable, {"hostpath-writable"}),
    ("host-root-writable", lambda d: host_mount(d, "/", "/host"), {"hostpath-writable"}),
    ("kubelet-dir-named-cache", lambda d: host_mount(d, "/var/lib/kubelet/cache", "/root/.cache"), {"hostpath-writable"}),
    ("system-cache-dir", lambda d: host_mount(d, "/var/cache", "/root/.cache"), {"hostpath-writable"}),
    ("readonly-false", lambda d: host_mount(d, "/data/extra", "/extra", read_only=False), {"hostpath-writable"}),
    ("near-miss:jit-cache", lambda d: host_mount(d, "/var/cache/sglang", "/root/.cache"), set()),
    ("near-miss:site-cache", lambda d: host_mount(d, "/data1/sgl_cache", "/root/.cache"), set()),
    ("near-miss:device-path", lambda d: host_mount(d, "/dev/gdrdrv", "/dev/gdrdrv"), set()),
    ("near-miss:readonly", lambda d: host_mount(d, "/etc/ssl/certs", "/etc/ssl/certs", read_only=True), set()),
    ("sidecar-writes-model-dir", lambda d: init_download(d, sidecar=True), {"hostpath-writable"}),
    ("near-miss:init-container-downloads-model", init_download, set()),

    ("router-nodeport", lambda d: service_type(d, "r1-router", "NodePort"), {"exposed-without-auth"}),
    ("router-loadbalancer", lambda d: service_type(d, "r1-router", "LoadBalancer"), {"exposed-without-auth"}),
    ("engine-loadbalancer", lambda d: service_type(d, "r1-prefill-leader", "LoadBalancer"), {"exposed-without-auth"}),
    ("near-miss:nodeport-with-key", nodeport_with_key, set()),
    ("near-miss:engine-lb-with-key", loadbalancer_engine_with_key, set()),
    ("near-miss:nodeport-selects-nothing", nodeport_selecting_nothing, set()),
    ("near-miss:router-key-clusterip", lambda d: api_key(router(d)), set()),

    ("router-no-readiness", lambda d: probe(d, "readinessProbe", None), {"router-probes-missing"}),
    ("router-no-liveness", lambda d: probe(d, "livenessProbe", None), {"router-probes-missing"}),
    ("readiness-on-health", lambda d: probe(d, "readinessProbe", {"httpGet": {"path": "/health", "port": 8000}}),
     {"router-probe-endpoints"}),
    ("readiness-tcp", lambda d: probe(d, "readinessProbe", {"tcpSocket": {"port": 8000}}), {"router-probe-endpoints"}),
    ("liveness-on-readiness", lambda d: probe(d, "livenessProbe", {"httpGet": {"path": "/readiness", "port": 8000}}),
     {"router-probe-endpoints"}),
    ("startup-on-health", lambda d: probe(d, "startupProbe", {"httpGet": {"path": "/health", "port": 8000}, "failureThreshold": 180}),
     {"router-probe-endpoints"}),
    ("no-startup-probe", lambda d: probe(d, "startupProbe", None), {"router-probe-endpoints"}),
    ("startup-restarts-every-500s", lambda d: router(d)["startupProbe"].update({"failureThreshold": 50}), {"router-probe-endpoints"}),
    # 10 x 330 = 3300 s, past the ~3240 s the router retries for with --worker-startup-timeout-secs 3600
    ("startup-after-router-gave-up", lambda d: router(d)["startupProbe"].update({"failureThreshold": 330}),
     {"router-probe-endpoints"}),
    ("near-miss:startup-just-above-backoff-reset", lambda d: router(d)["startupProbe"].update({"failureThreshold": 61}), set()),
    ("near-miss:startup-just-below-give-up", lambda d: router(d)["startupProbe"].update({"failureThreshold": 323}), set()),
    ("near-miss:liveness-on-liveness", lambda d: probe(d, "livenessProbe", {"httpGet": {"path": "/liveness", "port": 8000}}),
     set()),

    # Router image: its flag catalog is the same (0.3.2) with or without a version, so only the
    # pinning rule can fire.
    ("image-no-tag", lambda d: image(d, "r1-router", "lmsysorg/sglang"), {"image-unpinned"}),
    ("image-latest", lambda d: image(d, "r1-router", "lmsysorg/sglang:latest"), {"image-unpinned"}),
    ("image-named-tag", lambda d: image(d, "r1-router", "lmsysorg/sglang:deepep"), {"image-unpinned"}),
    ("image-nightly", lambda d: image(d, "r1-router", "lmsysorg/sglang:nightly-dev-20251106-bb6a21cd"),
     {"image-unpinned"}),
    ("image-registry-port-no-tag", lambda d: image(d, "r1-router", "registry.local:5000/sglang"), {"image-unpinned"}),
    ("near-miss:image-digest", lambda d: image(d, "r1-router", f"lmsysorg/sglang@{DIGEST}"), set()),
    ("near-miss:image-latest-with-digest", lambda d: image(d, "r1-router", f"lmsysorg/sglang:latest@{DIGEST}"), set()),
    ("near-miss:image-registry-port", lambda d: image(d, "r1-router", "registry.local:5000/sglang:v0.5.6.post2-cu129"),
     set()),

    ("shm-no-size-limit", lambda d: shm(d), {"shm-without-size-limit"}),
    ("near-miss:scratch-no-limit", scratch_without_limit, set()),
]


test_baseline_is_clean, test_defect_fires_its_rule_only = defect_tests(CASES)


@pytest.mark.parametrize("ref, pinned", [
    ("lmsysorg/sglang:v0.5.6.post2-cu129-amd64", True),
    ("lmsysorg/sglang:0.5.6", True),
    ("nvcr.io/nvidia/cuda:12.9.1-devel-ubuntu22.04", True),
    ("busybox:1.36.1", True),
    (f"lmsysorg/sglang@{DIGEST}", True),
    (f"lmsysorg/sglang:deepep@{DIGEST}", True),
    ("$(IMAGE)", True),  # unknown before run time: other rules report unresolved variables
    ("lmsysorg/sglang", False),
    ("lmsysorg/sglang:latest", False),
    ("lmsysorg/sglang:LATEST", False),
    ("lmsysorg/sglang:deepep", False),
    ("lmsysorg/sglang:dev", False),
    ("lmsysorg/sglang:v0.5.6-dev", False),
    ("lmsysorg/sglang:main", False),
    ("localhost:5000/sglang", False),
    ("lmsysorg/sglang@sha256:abc", False),  # not a digest: the tag is missing
    ("", False),
])
def test_image_pin_problem(ref, pinned):
    assert (image_pin_problem(ref) is None) == pinned


@pytest.mark.parametrize("name, ref, names_sglang", [
    ("r1-prefill", "lmsysorg/sglang:latest", True),
    ("r1-router", "lmsysorg/sgl-router:latest", False),
])
def test_image_unpinned_fix_names_sglang_only_for_sglang(name, ref, names_sglang):
    """The fix's example tag is SGLang's; another image (a router, a mock, a sidecar) gets none."""
    docs = baseline()
    image(docs, name, ref)
    fixes = [f.fix for f in run_rules(docs) if f.rule == "image-unpinned"]
    assert fixes and all(("lmsysorg/sglang" in fix) == names_sglang for fix in fixes)


# --- the bundle --------------------------------------------------------------------------------------

SECURITY_COMPONENTS = ["profiles/security/network-policy", "profiles/security/api-key",
                       "profiles/security/engine-api-key"]
OVERLAYS = sorted(p.name for p in (REPO / "overlays").iterdir() if (p / "kustomization.yaml").is_file())


def _security_findings(paths):
    result = run(Options(paths=[str(p) for p in paths]))
    return [f for f in result.findings if f.rule in {r.id for r in result.rules if r.category in ("security", "availability")}]


def test_shipped_overlays_are_clean():
    findings = _security_findings([REPO / "overlays" / o for o in OVERLAYS])
    assert findings == [], [f"{f.overlay}: {f.rule}: {f.message}" for f in findings]


@pytest.fixture(scope="module")
def wrapped_overlays():
    """Every overlay with the opt-in security components added (and the api-key listed twice:
    nodeport already includes it in h800-bond)."""
    tmp = Path(tempfile.mkdtemp(prefix="pdcheck-security-"))
    try:
        for name in ("base", "profiles", "overlays"):
            shutil.copytree(REPO / name, tmp / name)
        dirs = []
        for overlay in OVERLAYS:
            d = tmp / "wrapped" / overlay
            d.mkdir(parents=True)
            k = {"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization",
                 "resources": [f"../../overlays/{overlay}"],
                 "components": [f"../../{c}" for c in SECURITY_COMPONENTS]}
            (d / "kustomization.yaml").write_text(yaml.safe_dump(k))
            dirs.append(d)
        yield dirs
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def test_overlays_with_security_components_are_clean(wrapped_overlays):
    result = run(Options(paths=[str(d) for d in wrapped_overlays], no_cache=True))  # its renders are read below
    # Security and schema findings only: the wrapper dirs have no .pdcheck.yaml, so performance
    # warnings an overlay's own config settles would show up here.
    checked = {r.id for r in result.rules if r.category in ("security", "availability", "schema")}
    findings = [f for f in result.findings if f.rule in checked]
    assert findings == [], [f"{f.overlay}: {f.rule}: {f.message}" for f in findings]
    for render in result.renders:
        kinds = {o.kind for o in render.objects}
        assert "NetworkPolicy" in kinds and "PodDisruptionBudget" in kinds


def test_nodeport_profile_turns_on_the_api_key():
    """profiles/router/nodeport without the api-key would expose the router: the rule catches it."""
    k = yaml.safe_load((REPO / "profiles/router/nodeport/kustomization.yaml").read_text())
    assert "../../security/api-key" in k.get("components", [])
