"""The DynamoGraphDeployment adapter: each service runs through every rule as the Deployment or
LeaderWorkerSet the Dynamo operator creates, `python3 -m dynamo.sglang` is parsed as SGLang with
Dynamo's own flags, findings point into the DynamoGraphDeployment, and its schema matches the CRD."""

import copy
from pathlib import Path

import pytest
import yaml
from reference_material import shared_path
from ruletest import FIXTURES, baseline, defect_tests, rules_fired, run_rules, set_flag

from pdcheck.checker import Options, run
from pdcheck.effective import effective_documents
from pdcheck.model import DYNAMO_WORKER, build_model
from pdcheck.objects import Render
from pdcheck.render import objects_from_stream
from pdcheck.schema import SchemaValidator

FIXTURE = "dynamographdeployment.yaml"


def dgd_crd() -> Path:
    """The upstream CRD (../shared/reference/wrappers; skips without ../shared, fails in CI)."""
    return shared_path("reference", "wrappers", "dynamo-dynamographdeployment.yaml")


def docs() -> list[dict]:
    return baseline(FIXTURE)


def service(d, name):
    return d[0]["spec"]["services"][name]


def main(d, name):
    return service(d, name)["extraPodSpec"]["mainContainer"]


def replace_arg(args, old, new):
    args[args.index(old)] = new


def no_rdma_device(d):
    c = main(d, "prefill")
    del c["resources"]


def decode_as_shell_script_with_own_rank(d):
    """The template starts the worker through `sh -c` and writes --node-rank itself: the operator
    inserts its flags right after `dynamo.sglang`, so the template's later --node-rank 0 wins on
    every rank (what the operator's docs warn against)."""
    c = main(d, "decode")
    c["command"] = ["/bin/sh", "-c"]
    c["args"] = ["exec python3 -m dynamo.sglang " + " ".join(c["args"]) + " --node-rank 0"]


def decode_as_shell_script(d):
    c = main(d, "decode")
    c["command"] = ["/bin/sh", "-c"]
    c["args"] = ["exec python3 -m dynamo.sglang " + " ".join(c["args"])]


def as_vllm(d, name):
    c = main(d, name)
    c.update(image="nvcr.io/nvidia/ai-dynamo/vllm-runtime:0.6.1", command=["python3", "-m", "dynamo.vllm"],
             args=["--model", "/models/DeepSeek-R1", "--tensor-parallel-size", "3", "--is-prefill-worker"])


def second_graph(d, global_namespace=False):
    """A second DynamoGraphDeployment whose prefill and decode use page size 32: a Dynamo namespace of
    its own (`<namespace>-<name>`), unless both graphs join the global one."""
    other = copy.deepcopy(d[0])
    other["metadata"]["name"] = "ds-r1-small"
    for name in ("prefill", "decode"):
        set_flag(other["spec"]["services"][name]["extraPodSpec"]["mainContainer"], "--page-size", "32")
    d.append(other)
    if global_namespace:
        for graph in d:
            for name in ("prefill", "decode"):
                graph["spec"]["services"][name]["globalDynamoNamespace"] = True


CASES = [
    # (id, mutation, rules that fire)
    ("tp-not-the-gpus-of-the-group", lambda d: service(d, "decode")["resources"]["limits"].update(gpu="4"), {"tp-gpu-mismatch"}),
    ("mooncake-without-rdma-device", no_rdma_device, {"rdma-devices-missing"}),
    ("page-size-differs", lambda d: set_flag(main(d, "decode"), "--page-size", "32"), {"pd-page-size-mismatch"}),
    ("model-differs", lambda d: set_flag(main(d, "decode"), "--served-model-name", "deepseek-ai/DeepSeek-V3"),
     {"pd-model-mismatch"}),
    ("template-writes-its-own-node-rank", decode_as_shell_script_with_own_rank, {"node-rank-collision"}),
    ("unknown-sglang-flag", lambda d: main(d, "prefill")["args"].extend(["--disaggregation-ib-devices", "mlx5_0"]),
     {"flag-unknown"}),
    ("unknown-field-in-a-service", lambda d: service(d, "decode").update(replica=2), {"schema-invalid"}),
    # near misses: what the operator really does keeps these clean
    ("near-miss-shell-script-without-rank-flags", decode_as_shell_script, set()),
    ("near-miss-dynamo-flags", lambda d: main(d, "prefill")["args"].extend(
        ["--no-use-sglang-tokenizer", "--request-plane", "tcp", "--connector", "nixl", "lmcache", "--endpoint",
         "dyn://ds-r1.prefill.generate"]), set()),
    ("graphs-sharing-the-global-dynamo-namespace", lambda d: second_graph(d, global_namespace=True), {"pd-page-size-mismatch"}),
    ("near-miss-second-graph-with-another-page-size", second_graph, set()),
    ("near-miss-two-decode-groups", lambda d: service(d, "decode").update(replicas=2), set()),
    ("near-miss-ignore-annotation", lambda d: d[0]["metadata"].update(annotations={"pdcheck.io/ignore": "tp-gpu-mismatch"})
     or service(d, "decode")["resources"]["limits"].update(gpu="4"), set()),
    ("near-miss-vllm-workers", lambda d: as_vllm(d, "prefill") or as_vllm(d, "decode"), set()),
]

test_fixture_is_clean, test_defect_fires_its_rule_only = defect_tests(CASES, FIXTURE)


def model_of(d):
    objects, non_objects = objects_from_stream(yaml.safe_dump_all(d, sort_keys=False), "dgd.yaml", None)
    return build_model(Render("dgd.yaml", "file", objects, non_objects))


def test_each_service_is_the_workload_the_operator_creates():
    model = model_of(docs())
    by_name = {w.name: w for w in model.workloads}
    assert set(by_name) == {"ds-r1-frontend", "ds-r1-prefill", "ds-r1-decode-0"}
    prefill, decode = by_name["ds-r1-prefill"], by_name["ds-r1-decode-0"]
    assert (prefill.obj.kind, prefill.replicas, prefill.role) == ("Deployment", 1, "prefill")
    assert (decode.obj.kind, decode.size, decode.replicas, decode.role) == ("LeaderWorkerSet", 2, 1, "decode")
    assert decode.obj.namespace == "serving"
    leader, worker = decode.pods
    assert leader.labels["nvidia.com/selector"] == "ds-r1-decode"
    assert leader.labels["nvidia.com/dynamo-sub-component-type"] == "decode"
    assert (leader.labels["role"], worker.labels["role"]) == ("leader", "worker")
    assert leader.engine.launcher == DYNAMO_WORKER and leader.engine.program == "sglang"
    # the operator's flags come last; LWS resolves the leader address and the rank
    assert worker.engine.argv[-6:] == ["--dist-init-addr", "ds-r1-decode-0-0.ds-r1-decode-0.serving:29500",
                                       "--nnodes", "2", "--node-rank", "1"]
    assert leader.engine.argv[-1] == "0"
    assert worker.engine.env_value("DYN_NAMESPACE") == "serving-ds-r1"
    assert worker.engine.env_value("DYN_COMPONENT") == "worker"
    assert worker.engine.env_value("NCCL_IB_HCA") == "mlx5_0,mlx5_1"  # graph-level envs
    assert worker.engine.spec["resources"]["limits"] == {"rdma/hca_shared_devices_a": "1", "nvidia.com/gpu": "8"}
    assert "readinessProbe" in leader.engine.spec and "readinessProbe" not in worker.engine.spec  # worker probes removed
    shm = [v for v in decode.obj.doc["spec"]["leaderWorkerTemplate"]["workerTemplate"]["spec"]["volumes"] if v["name"] == "shared-memory"]
    assert shm == [{"name": "shared-memory", "emptyDir": {"medium": "Memory", "sizeLimit": "64Gi"}}]


def test_flags_go_after_the_module_in_a_shell_script():
    d = docs()
    decode_as_shell_script(d)
    worker = next(w for w in model_of(d).workloads if w.name == "ds-r1-decode-0").pods[1]
    script = worker.engine.argv[-1]
    assert script.startswith("exec python3 -m dynamo.sglang --dist-init-addr ds-r1-decode-0-0.ds-r1-decode-0.serving:29500 "
                             "--nnodes 2 --node-rank 1 --model-path")


def test_the_fixture_is_not_changed_by_modelling():
    d = docs()
    before = copy.deepcopy(d)
    objects, _ = objects_from_stream(yaml.safe_dump_all(d, sort_keys=False), "dgd.yaml", None)
    snapshot = copy.deepcopy([o.doc for o in objects])
    build_model(Render("dgd.yaml", "file", objects, []))
    assert [o.doc for o in objects] == snapshot
    assert d == before


def test_malformed_services_are_skipped_not_crashed_on():
    d = docs()
    d[0]["spec"]["services"] = {"a": None, "b": {"extraPodSpec": []}, "c": {"multinode": "two"}, 3: {}, "prefill": service(d, "prefill")}
    names = [w.name for w in model_of(d).workloads]
    assert names == ["ds-r1-c", "ds-r1-prefill"]
    d[0]["spec"] = {"services": ["prefill"]}
    assert model_of(d).workloads == []


def test_findings_point_at_the_service_in_the_file(tmp_path):
    d = docs()
    set_flag(main(d, "decode"), "--tp", "12")
    path = tmp_path / "dgd.yaml"
    path.write_text(yaml.safe_dump_all(d, sort_keys=False))
    findings = [f for f in run(Options(paths=[str(path)], no_cache=True)).findings if f.rule == "tp-gpu-mismatch"]
    assert findings
    f = findings[0]
    assert f.object == "DynamoGraphDeployment/serving/ds-r1"
    assert f.path_text.startswith("spec.services.decode.extraPodSpec.mainContainer.args[")
    lines = path.read_text().splitlines()
    assert f.file == str(path) and lines[f.line - 1].strip() in ("- --tp", "- '12'")


def test_effective_pods_show_service_ranks_like_lws_ranks():
    objects, _ = objects_from_stream((FIXTURES / FIXTURE).read_text(), FIXTURE, None)
    pods = [doc for doc in effective_documents(build_model(Render(FIXTURE, "file", objects, []))) if doc["role"] == "decode"]
    assert [(p["rank"], p["pod"]) for p in pods] == [(0, "ds-r1-decode-0-0"), (1, "ds-r1-decode-0-0-1")]
    assert pods[1]["object"] == "DynamoGraphDeployment/serving/ds-r1 service decode (LeaderWorkerSet ds-r1-decode-0)"
    assert pods[1]["env"]["LWS_WORKER_INDEX"] == "1"


def test_vllm_workers_get_no_sglang_finding():
    d = docs()
    as_vllm(d, "prefill")
    as_vllm(d, "decode")
    assert rules_fired(d) == set()
    assert model_of(d).engines_by_role("decode") == []


# --- schema -----------------------------------------------------------------------------------

SCHEMA_DEFECTS = [
    # (id, mutation, path of the issue)
    ("unknown-service-field", lambda x: x["spec"]["services"]["decode"].update(replica=2), ("spec", "services", "decode", "replica")),
    ("unknown-spec-field", lambda x: x["spec"].update(service={}), ("spec", "service")),
    ("replicas-not-an-integer", lambda x: x["spec"]["services"]["decode"].update(replicas="2"), ("spec", "services", "decode", "replicas")),
    ("pod-field-misspelt", lambda x: x["spec"]["services"]["decode"]["extraPodSpec"].update(volume=[]),
     ("spec", "services", "decode", "extraPodSpec", "volume")),
    ("main-container-field-misspelt", lambda x: x["spec"]["services"]["decode"]["extraPodSpec"]["mainContainer"].update(arg=[]),
     ("spec", "services", "decode", "extraPodSpec", "mainContainer", "arg")),
]


@pytest.fixture(scope="module")
def bundled():
    return SchemaValidator()


@pytest.fixture(scope="module")
def upstream():
    return SchemaValidator(crd_files=[dgd_crd()])


def test_fixture_valid_for_bundled_schema_and_upstream_crd(bundled, upstream):
    assert bundled.validate(docs()[0]) == []
    assert upstream.validate(docs()[0]) == []


@pytest.mark.parametrize("mutate, path", [c[1:] for c in SCHEMA_DEFECTS], ids=[c[0] for c in SCHEMA_DEFECTS])
def test_defect_rejected_by_bundled_schema_and_upstream_crd(bundled, upstream, mutate, path):
    x = docs()[0]
    mutate(x)
    for validator in (bundled, upstream):
        issues = validator.validate(x)
        assert [i.path for i in issues if i.kind == "invalid"][:1] == [path], (validator, issues)


def test_bundled_schema_has_the_fields_of_the_crd():
    from pdcheck.schema.validator import _load_project_schema

    crd = yaml.safe_load(dgd_crd().read_text())
    [version] = [v for v in crd["spec"]["versions"] if v["name"] == "v1alpha1"]
    upstream_spec = version["schema"]["openAPIV3Schema"]["properties"]["spec"]
    ours = _load_project_schema("dynamographdeployment-v1alpha1.json")["properties"]["spec"]
    assert set(ours["properties"]) == set(upstream_spec["properties"])
    up_service = upstream_spec["properties"]["services"]["additionalProperties"]
    our_service = ours["properties"]["services"]["additionalProperties"]
    assert set(our_service["properties"]) == set(up_service["properties"])
    assert set(our_service["properties"]["extraPodSpec"]["properties"]) == set(up_service["properties"]["extraPodSpec"]["properties"])
    assert our_service["additionalProperties"] is False


def test_one_finding_for_a_template_both_ranks_share(tmp_path):
    """The leader and worker pods of a multinode service come from one mainContainer: a problem in
    it is reported once, not once per LWS template."""
    d = docs()
    main(d, "decode")["image"] = "my-registry/sglang-runtime:latest"
    path = tmp_path / "dgd.yaml"
    path.write_text(yaml.safe_dump_all(d, sort_keys=False))
    findings = [f for f in run(Options(paths=[str(path)], no_cache=True)).findings if f.rule == "image-unpinned"]
    assert [f.path_text for f in findings] == ["spec.services.decode.extraPodSpec.mainContainer.image"]


# --- v1beta1 ----------------------------------------------------------------------------------

def as_v1beta1(graph: dict) -> dict:
    """The v1alpha1 fixture written as v1beta1: `spec.components[]`, each with a `podTemplate` whose
    `main` container is the v1alpha1 mainContainer plus the service's resources."""
    spec = graph["spec"]
    components = []
    for name, svc in spec["services"].items():
        main_container = {"name": "main", **svc["extraPodSpec"]["mainContainer"]}
        gpus = svc.get("resources", {}).get("limits", {}).get("gpu")
        if gpus:
            limits = main_container.setdefault("resources", {}).setdefault("limits", {})
            limits["nvidia.com/gpu"] = gpus
        pod = {k: v for k, v in svc["extraPodSpec"].items() if k != "mainContainer"}
        pod["containers"] = [main_container]
        component = {"name": name, "type": svc["subComponentType"] if "subComponentType" in svc else svc["componentType"],
                     "replicas": svc["replicas"], "podTemplate": {"spec": pod}}
        for key in ("multinode",):
            if key in svc:
                component[key] = svc[key]
        if "sharedMemory" in svc:
            component["sharedMemorySize"] = svc["sharedMemory"]["size"]
        components.append(component)
    return {"apiVersion": "nvidia.com/v1beta1", "kind": "DynamoGraphDeployment", "metadata": graph["metadata"],
            "spec": {"backendFramework": spec["backendFramework"], "env": spec["envs"], "components": components}}


def test_v1beta1_runs_the_same_pods_as_v1alpha1():
    def effective(d):
        objects, _ = objects_from_stream(yaml.safe_dump_all(d, sort_keys=False), "dgd.yaml", None)
        return [doc for doc in effective_documents(build_model(Render("dgd.yaml", "file", objects, [])))]

    def same_parts(doc):  # DYN_COMPONENT is the component type: `worker` in the v1alpha1 fixture, `prefill` in v1beta1
        return {**{k: v for k, v in doc.items() if k != "object"}, "env": {k: v for k, v in doc["env"].items() if k != "DYN_COMPONENT"}}

    alpha = docs()
    beta = [as_v1beta1(alpha[0])]
    assert [same_parts(doc) for doc in effective(beta)] == [same_parts(doc) for doc in effective(alpha)]
    assert [doc["env"]["DYN_COMPONENT"] for doc in effective(beta)] == ["frontend", "prefill", "decode", "decode"]
    assert rules_fired(beta) == set()


def test_v1beta1_defects_point_into_the_component():
    beta = as_v1beta1(docs()[0])
    decode = next(c for c in beta["spec"]["components"] if c["name"] == "decode")
    decode["podTemplate"]["spec"]["containers"][0]["resources"]["limits"]["nvidia.com/gpu"] = "4"
    findings = run_rules([beta])
    assert {f.rule for f in findings} == {"tp-gpu-mismatch"}
    assert all(f.path_text.startswith("spec.components[2].podTemplate.spec.containers[0].") for f in findings)
    assert SchemaValidator().validate(beta) == []


def test_bundled_v1beta1_schema_has_the_fields_of_the_crd(upstream):
    from pdcheck.schema.validator import _load_project_schema

    crd = yaml.safe_load(dgd_crd().read_text())
    [version] = [v for v in crd["spec"]["versions"] if v["name"] == "v1beta1"]
    upstream_spec = version["schema"]["openAPIV3Schema"]["properties"]["spec"]
    ours = _load_project_schema("dynamographdeployment-v1beta1.json")["properties"]["spec"]
    assert set(ours["properties"]) == set(upstream_spec["properties"])
    up_component, our_component = upstream_spec["properties"]["components"]["items"], ours["properties"]["components"]["items"]
    assert set(our_component["properties"]) == set(up_component["properties"])
    assert our_component["additionalProperties"] is False
    beta = as_v1beta1(docs()[0])
    assert upstream.validate(beta) == []
    beta["spec"]["components"][0].update(replica=2)
    for validator in (SchemaValidator(), upstream):
        assert [i.path for i in validator.validate(beta) if i.kind == "invalid"][:1] == [("spec", "components", 0, "replica")]
