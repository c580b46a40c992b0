"""The OME adapter: an InferenceService merged with its ClusterServingRuntime runs through every rule
as the LeaderWorkerSets, Deployments, Services and RBAC the OME controller creates; findings point
at the runtime or the InferenceService, whichever set the value; the schemas match the CRDs."""

import copy
from pathlib import Path

import pytest
import yaml
from reference_material import shared_path
from ruletest import (FIXTURES, assert_modelling_changes_nothing, baseline, defect_tests, rules_fired, run_rules, set_env,
                      set_flag)

from pdcheck.adapters import ome
from pdcheck.checker import Options, run
from pdcheck.effective import effective_documents
from pdcheck.model import build_model
from pdcheck.objects import Render
from pdcheck.render import objects_from_stream
from pdcheck.schema import SchemaValidator

FIXTURE = "ome.yaml"
KINDS = ("InferenceService", "ServingRuntime", "ClusterServingRuntime")


def crd(kind: str) -> Path:
    """The upstream CRD (skips without ../shared; CI fails without it, conftest.py)."""
    return shared_path("reference", "wrappers", f"ome-{kind.lower()}.yaml")


def docs() -> list[dict]:
    return baseline(FIXTURE)


def runtime(d) -> dict:
    return next(x for x in d if x["kind"] == "ClusterServingRuntime")


def isvc(d) -> dict:
    return next(x for x in d if x["kind"] == "InferenceService")


def runner(d, component: str, part: str = "leader") -> dict:
    return runtime(d)["spec"][f"{component}Config"][part]["runner"]


def both(d, component: str):
    return [runner(d, component, part) for part in ("leader", "worker")]


def router(d) -> dict:
    return runtime(d)["spec"]["routerConfig"]["runner"]


def replace_args(args: list, old: list, new: list):
    i = next(i for i in range(len(args)) if args[i:i + len(old)] == old)
    args[i:i + len(old)] = new


def no_rdma_device(d):
    for c in both(d, "decoder"):
        c["volumeMounts"] = [m for m in c["volumeMounts"] if m["name"] != "infiniband"]
        c["securityContext"]["privileged"] = False


def worker_ib_devices_differ(d):
    c = runner(d, "decoder", "worker")
    set_flag(c, "--disaggregation-ib-device", "mlx5_bond_0,mlx5_bond_1")
    set_env(c, "NCCL_IB_HCA", "mlx5_bond_0,mlx5_bond_1")
    set_env(c, "NVSHMEM_HCA_LIST", "mlx5_bond_0:1,mlx5_bond_1:1")


def exposed_without_key(d):
    args = router(d)["args"]
    del args[args.index("--api-key"):args.index("--api-key") + 2]
    d.append({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "r1-public"},
              "spec": {"type": "NodePort", "selector": {"app": "r1-router"}, "ports": [{"port": 8000, "targetPort": 8000}]}})


def static_router(d, prefill="http://r1-engine:28000", decode="http://r1-decoder:28000"):
    """The router names the Services the controller creates for the engine and the decoder."""
    args = router(d)["args"]
    start, end = args.index("--service-discovery"), args.index("--host")
    args[start:end] = ["--prefill", prefill, "8998", "--decode", decode]


def decoder_gpus(d, gpus: str):
    for c in both(d, "decoder"):
        c["resources"]["limits"]["nvidia.com/gpu"] = gpus


def isvc_decoder_override(d, override: dict):
    isvc(d)["spec"]["decoder"].update(override)


CASES = [
    # (id, mutation, rules that fire)
    ("mooncake-without-rdma-device", no_rdma_device, {"rdma-devices-missing", "deepep-ibgda-unprivileged"}),
    ("router-exposed-without-api-key", exposed_without_key, {"exposed-without-auth"}),
    ("decode-worker-ib-devices-differ-from-leader", worker_ib_devices_differ, {"env-drift", "rdma-devices-rank-drift"}),
    # 4 GPUs a pod: the controller's PARALLELISM_SIZE (--dp-size) follows, 8, the runtime's --tp-size 16 does
    # not; and with 8 DP groups each decode rank may batch 256 requests
    ("tp-not-gpus", lambda d: decoder_gpus(d, "4"), {"tp-gpu-mismatch", "cuda-graph-max-bs-below-running"}),
    # 3 nodes: PARALLELISM_SIZE 24 DP groups, tp 16 over 3 nodes
    ("worker-size-2", lambda d: runtime(d)["spec"]["decoderConfig"]["worker"].update(size=2),
     {"tp-nnodes-indivisible", "tp-dp-indivisible"}),
    ("sd-selector-wrong-component", lambda d: replace_args(router(d)["args"], ["component=decoder"], ["component=decode"]),
     {"router-sd-selector"}),
    ("static-url-wrong-port", lambda d: static_router(d, decode="http://r1-decoder:28001"), {"router-url-port"}),
    ("static-url-two-prefill-groups", lambda d: static_router(d) or isvc(d)["spec"]["engine"].update(minReplicas=2),
     {"router-static-multi-replica-prefill"}),
    # the InferenceService wins over the runtime: its decoder leader's runner env replaces the runtime's value
    ("isvc-overrides-leader-env", lambda d: isvc_decoder_override(d, {"leader": {"runner": {
        "name": "ome-container", "env": [{"name": "NCCL_IB_HCA", "value": "mlx5_bond_0"}]}}}),
     {"env-drift", "rdma-device-sets-differ", "rdma-devices-rank-drift"}),
    ("unknown-field-in-the-engine", lambda d: isvc(d)["spec"]["engine"].update(replicaz=1), {"schema-invalid"}),
    ("runtime-not-in-the-input", lambda d: d.remove(runtime(d)), {"ome-runtime-not-in-render"}),
    # the runtime no InferenceService uses is checked alone, with the controller's default of one router
    ("runtime-of-another-name", lambda d: isvc(d)["spec"]["runtime"].update(name="srt-other"),
     {"ome-runtime-not-in-render", "router-single-replica", "router-no-pdb"}),
    # near misses: what the controller really does keeps these clean
    ("near-miss-static-urls-to-the-controllers-services", static_router, set()),
    ("near-miss-runtime-named-with-its-kind", lambda d: isvc(d)["spec"]["runtime"].update(kind="ClusterServingRuntime"), set()),
    ("near-miss-isvc-overrides-replicas", lambda d: isvc(d)["spec"]["decoder"].update(minReplicas=2), set()),
    ("near-miss-ignore-annotation-on-the-isvc", lambda d: isvc(d)["metadata"].update(
        annotations={"pdcheck.io/ignore": "env-drift, rdma-devices-rank-drift"}) or worker_ib_devices_differ(d), set()),
    # MODEL_PATH is the model's storage.path, set by the controller (the model is not in the input)
    ("near-miss-model-path-from-the-controller", lambda d: [set_flag(c, "--model-path", "$(MODEL_PATH)")
                                                          for comp in ("engine", "decoder") for c in both(d, comp)], set()),
    ("near-miss-placeholder-in-the-runtime", lambda d: replace_args(
        router(d)["args"], ["ome.io/inferenceservice=$(INFERENCESERVICE_NAME)"], ["ome.io/inferenceservice={{.Name}}"]), set()),
]

test_fixture_is_clean, test_defect_fires_its_rule_only = defect_tests(CASES, FIXTURE)


def model_of(d):
    objects, non_objects = objects_from_stream(yaml.safe_dump_all(d, sort_keys=False), "ome.yaml", None)
    return build_model(Render("ome.yaml", "file", objects, non_objects))


def test_the_controllers_objects():
    """Names, labels, size, replicas, injected env, Services and RBAC as the OME controller creates them."""
    d = docs()
    isvc(d)["metadata"]["namespace"] = "serving"
    isvc(d)["spec"]["decoder"]["labels"] = {"tier": "decode", "component": "mine"}
    model = model_of(d)
    by_name = {w.name: w for w in model.workloads}
    assert set(by_name) == {"lws-r1-engine", "lws-r1-decoder", "r1-router"}
    decoder = by_name["lws-r1-decoder"]
    assert (decoder.kind, decoder.size, decoder.replicas, decoder.role) == ("LeaderWorkerSet", 2, 1, "decode")
    assert decoder.obj.namespace == "serving"
    leader, worker = decoder.pods
    assert leader.labels["component"] == "decoder"  # the controller's labels win
    assert leader.labels["tier"] == "decode" and leader.labels["app.kubernetes.io/name"] == "sglang"
    assert leader.labels[ome.ISVC_LABEL] == "r1" and leader.labels[ome.RUNTIME_LABEL] == "srt-deepseek-r1-pd"
    assert (leader.labels["app"], leader.labels["ray.io/node-type"]) == ("r1-decoder", "head")
    assert "ray.io/node-type" not in worker.labels
    assert worker.engine.env_value("PARALLELISM_SIZE") == "16"  # 8 GPUs x (1 + worker.size 1)
    assert worker.engine.env_value("LWS_LEADER_ADDRESS") == "lws-r1-decoder-0.lws-r1-decoder.serving"
    assert "16" in worker.engine.argv[worker.engine.argv.index("--dp-size") + 1]
    services = {o.name: o.doc for o in model.objects_of("Service")}
    assert services["r1-decoder"]["spec"]["selector"] == {"ray.io/node-type": "head", "app": "r1-decoder"}
    assert services["r1-decoder"]["spec"]["ports"] == [{"name": "http", "port": 28000, "targetPort": 28000, "protocol": "TCP"}]
    assert services["r1-router"]["spec"]["selector"] == {"app": "r1-router"}
    router_wl = by_name["r1-router"]
    assert (router_wl.kind, router_wl.replicas) == ("Deployment", 2)
    assert router_wl.pods[0].spec["serviceAccountName"] == "r1-router"
    assert {o.kind for o in model.objects if o.name == "r1-router"} >= {"ServiceAccount", "Role", "RoleBinding"}


def test_model_path_and_volume_from_the_cluster_base_model():
    d = docs()
    d.append({"apiVersion": "ome.io/v1beta1", "kind": "ClusterBaseModel", "metadata": {"name": "deepseek-r1-0528"},
              "spec": {"vendor": "deepseek-ai", "modelFormat": {"name": "safetensors"},
                       "storage": {"path": "/raid/models/deepseek-r1-0528"}}})
    leader = next(w for w in model_of(d).workloads if w.name == "lws-r1-engine").pods[0]
    assert leader.engine.env_value("MODEL_PATH") == "/raid/models/deepseek-r1-0528"
    assert {"name": "deepseek-r1-0528", "mountPath": "/raid/models/deepseek-r1-0528", "readOnly": True} in leader.engine.spec["volumeMounts"]
    assert {"name": "deepseek-r1-0528", "hostPath": {"path": "/raid/models/deepseek-r1-0528"}} in leader.spec["volumes"]
    assert leader.labels["base-model-name"] == "deepseek-r1-0528" and leader.labels["base-model-vendor"] == "deepseek-ai"


def test_isvc_runner_args_replace_the_runtimes_and_pod_container_args_come_first():
    """The runtime's component and the InferenceService's merge by strategic merge (args replaced);
    the runner merges into the pod container of its name with the args concatenated."""
    d = docs()
    container = {"name": "ome-container", "args": ["--first"]}
    isvc(d)["spec"]["engine"]["leader"] = {"containers": [container], "runner": {"name": "ome-container", "args": ["--mine"]}}
    leader = next(w for w in model_of(d).workloads if w.name == "lws-r1-engine").pods[0]
    assert leader.engine.spec["args"] == ["--first", "--mine"]
    assert leader.engine.spec["command"] == ["python3", "-m", "sglang.launch_server"]  # the runtime's, kept


def test_the_fixture_is_not_changed_by_modelling():
    assert_modelling_changes_nothing(docs(), FIXTURE)


@pytest.mark.parametrize("spec", [None, [], {"engine": []}, {"runtime": "x"}, {"engine": {"leader": []}},
                                  {"engine": {"worker": {"size": "two"}}}, {"engine": {"runner": []}}])
def test_malformed_inferenceservices_are_skipped_not_crashed_on(spec):
    d = docs()
    isvc(d)["spec"] = spec if spec is None or not isinstance(spec, dict) else {**isvc(d)["spec"], **spec}
    model_of(d)  # no exception
    run_rules(d)


def test_findings_point_at_the_object_that_set_the_value(tmp_path):
    d = docs()
    decoder_gpus(d, "4")
    path = tmp_path / "ome.yaml"
    path.write_text(yaml.safe_dump_all(d, sort_keys=False))
    findings = run(Options(paths=[str(path)], no_cache=True)).findings
    assert {f.object for f in findings} == {"ClusterServingRuntime/srt-deepseek-r1-pd"}
    f = next(f for f in findings if "spec.decoderConfig.leader" in f.path_text)
    assert f.path_text.startswith("spec.decoderConfig.leader.runner.args[")
    lines = path.read_text().splitlines()
    assert lines[f.line - 1].strip() == "- --tp-size" and f.file == str(path)
    # a value the InferenceService sets is reported there
    d = docs()
    isvc_decoder_override(d, {"leader": {"runner": {"name": "ome-container", "env": [{"name": "NCCL_IB_HCA", "value": "mlx5_bond_0"}]}}})
    found = {(f.rule, f.object, f.path_text) for f in run_rules(d)}
    assert ("rdma-device-sets-differ", "InferenceService/r1", "spec.decoder.leader.runner.env[0]") in found
    # the worker keeps the runtime's value
    assert ("rdma-devices-rank-drift", "ClusterServingRuntime/srt-deepseek-r1-pd", "spec.decoderConfig.worker.runner.env[0]") in found


def test_effective_pods_look_like_lws_pods():
    objects, _ = objects_from_stream((FIXTURES / FIXTURE).read_text(), FIXTURE, None)
    docs_ = list(effective_documents(build_model(Render(FIXTURE, "file", objects, []))))
    engines = [x for x in docs_ if x["role"] in ("prefill", "decode")]
    assert [(x["role"], x["rank"]) for x in engines] == [("prefill", 0), ("prefill", 1), ("decode", 0), ("decode", 1)]
    assert engines[0]["object"] == "InferenceService/r1 engine (LeaderWorkerSet lws-r1-engine)"
    assert engines[1]["env"]["PARALLELISM_SIZE"] == "16"
    assert "lws-r1-engine-0.lws-r1-engine.default:20102" in engines[1]["argv"]


def test_a_runtime_alone_is_checked_as_if_an_inferenceservice_used_it():
    d = [runtime(docs())]
    model = model_of(d)
    assert sorted(w.name for w in model.workloads) == ["lws-srt-deepseek-r1-pd-decoder", "lws-srt-deepseek-r1-pd-engine",
                                                       "srt-deepseek-r1-pd-router"]
    assert rules_fired(d) == ALONE


ALONE = {"ome-runtime-not-in-render", "router-single-replica", "router-no-pdb"}  # one router: the controller's default


def test_auto_selected_runtime():
    d = docs()
    del isvc(d)["spec"]["runtime"]
    assert rules_fired(d) == ALONE  # autoSelect: false, so the runtime is checked alone
    runtime(d)["spec"]["supportedModelFormats"][0]["autoSelect"] = True
    assert rules_fired(d) == set()
    other = copy.deepcopy(runtime(d))
    other["metadata"]["name"] = "srt-other"
    d.append(other)  # two candidates of the same priority: the controller's choice depends on the cluster
    assert rules_fired(d) == ALONE


def test_vllm_runtimes_get_no_sglang_finding():
    d = docs()
    for component in ("engine", "decoder"):
        for c in both(d, component):
            c.update(image="vllm/vllm-openai:v0.11.0", command=["vllm", "serve", "/models/DeepSeek-R1-0528"],
                     args=["--tensor-parallel-size", "16"])
    del runtime(d)["spec"]["routerConfig"]
    del isvc(d)["spec"]["router"]
    d = [x for x in d if x["kind"] != "PodDisruptionBudget"]
    assert rules_fired(d) == set()
    assert model_of(d).engines_by_role("prefill") == []


# --- schema -----------------------------------------------------------------------------------

SCHEMA_DEFECTS = [
    # (id, document, mutation, path of the issue)
    ("isvc-unknown-component", "InferenceService", lambda o: o["spec"].update(prefill={}), ("spec", "prefill")),
    ("isvc-worker-size-string", "InferenceService", lambda o: o["spec"]["engine"].update(worker={"size": "one"}),
     ("spec", "engine", "worker", "size")),
    ("isvc-runtime-without-name", "InferenceService", lambda o: o["spec"].update(runtime={"kind": "ServingRuntime"}),
     ("spec", "runtime")),
    ("runtime-unknown-field-in-runner", "ClusterServingRuntime",
     lambda o: o["spec"]["engineConfig"]["leader"]["runner"].update(argz=[]),
     ("spec", "engineConfig", "leader", "runner", "argz")),
    ("runtime-pod-field-typo", "ClusterServingRuntime", lambda o: o["spec"]["decoderConfig"]["worker"].update(hostNetwerk=True),
     ("spec", "decoderConfig", "worker", "hostNetwerk")),
]


@pytest.fixture(scope="module")
def bundled():
    return SchemaValidator()


@pytest.fixture(scope="module")
def upstream():
    return SchemaValidator(crd_files=[crd("InferenceService"), crd("ClusterServingRuntime"), crd("ServingRuntime")])


def test_fixture_valid_for_bundled_schema_and_upstream_crd(bundled, upstream):
    for doc in (runtime(docs()), isvc(docs())):
        assert bundled.validate(doc) == []
        assert upstream.validate(doc) == []
    namespaced = {**runtime(docs()), "kind": "ServingRuntime"}
    assert bundled.validate(namespaced) == [] and upstream.validate(namespaced) == []


@pytest.mark.parametrize("kind, mutate, path", [c[1:] for c in SCHEMA_DEFECTS], ids=[c[0] for c in SCHEMA_DEFECTS])
def test_defect_rejected_by_bundled_schema_and_upstream_crd(bundled, upstream, kind, mutate, path):
    doc = next(x for x in docs() if x["kind"] == kind)
    mutate(doc)
    for validator in (bundled, upstream):
        issues = validator.validate(doc)
        assert [i.path for i in issues if i.kind == "invalid"][:1] == [path], (validator, issues)


def _fields(node: dict) -> set:
    return set(node.get("properties", {}))


@pytest.mark.parametrize("kind", KINDS)
def test_bundled_schema_has_the_fields_of_the_crd(kind):
    """Every level the bundled schema writes out has the CRD's fields; $ref'd levels are Kubernetes types."""
    from pdcheck.schema.validator import PROJECT_SCHEMAS, _load_project_schema

    document = yaml.safe_load(crd(kind).read_text())
    [version] = [v for v in document["spec"]["versions"] if v["name"] == "v1beta1"]
    ours = _load_project_schema(PROJECT_SCHEMAS[("ome.io/v1beta1", kind)])
    compared = 0

    def walk(c: dict, o: dict, path: tuple):
        nonlocal compared
        if "$ref" in o or "properties" not in c or "properties" not in o:
            return
        expected = _fields(c) - ({"apiVersion", "kind", "metadata"} if not path else set())
        assert _fields(o) - ({"apiVersion", "kind", "metadata"} if not path else set()) == expected, path
        compared += 1
        for name in c["properties"]:
            walk(c["properties"][name], o["properties"][name], path + (name,))
            if "items" in c["properties"][name] and "items" in o["properties"][name]:
                walk(c["properties"][name]["items"], o["properties"][name]["items"], path + (name, "[]"))

    walk(version["schema"]["openAPIV3Schema"], ours, ())
    assert compared > 10


def test_a_servingruntime_serves_its_own_namespace_only():
    d = docs()
    namespaced = runtime(d)
    namespaced.update(kind="ServingRuntime")
    namespaced["metadata"]["namespace"] = "serving"
    isvc(d)["metadata"]["namespace"] = "serving"
    assert rules_fired(d) == set()
    isvc(d)["metadata"]["namespace"] = "other"
    assert "ome-runtime-not-in-render" in rules_fired(d)
