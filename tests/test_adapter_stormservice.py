"""The StormService adapter: each role runs through every rule as the pods the AIBrix controllers
create (RoleSet 0; a multi-pod role's PodSet as one engine group), with the env they prepend,
findings point into the StormService, and its schema matches the CRD."""

from pathlib import Path

import pytest
import yaml
from reference_material import shared_path
from ruletest import (FIXTURES, assert_modelling_changes_nothing, baseline, defect_tests, rules_fired, run_rules, set_env,
                      set_flag)
from schema_cases import schema_tests

from pdcheck import adapters
from pdcheck.adapters import stormservice as ssa
from pdcheck.checker import Options, run
from pdcheck.effective import effective_documents
from pdcheck.model import build_model
from pdcheck.objects import Render
from pdcheck.render import objects_from_stream

FIXTURE = "stormservice.yaml"


def ss_crd() -> Path:
    """The upstream CRD (../shared/reference/wrappers; skips without ../shared, fails in CI)."""
    return shared_path("reference", "wrappers", "aibrix-stormservice.yaml")


def docs() -> list[dict]:
    return baseline(FIXTURE)


def role(d, name):
    return next(r for r in d[0]["spec"]["template"]["spec"]["roles"] if r["name"] == name)


def engine(d, name):
    return role(d, name)["template"]["spec"]["containers"][0]


def drop_rdma(d):
    resources = engine(d, "prefill")["resources"]
    for block in resources.values():
        del block["rdma/hca_shared_devices_a"]


def as_shell_script(d, name):
    """The container as the AIBrix samples write it: `sh -c` and shell-style $POD_GROUP_INDEX."""
    c = engine(d, name)
    words = ["python3", "-m", "sglang.launch_server"] + [
        a.replace("$(PODSET_NAME)", "${PODSET_NAME}").replace("$(STORM_SERVICE_NAME)", "${STORM_SERVICE_NAME}")
         .replace("$(POD_GROUP_SIZE)", "$POD_GROUP_SIZE").replace("$(POD_GROUP_INDEX)", "$POD_GROUP_INDEX")
        for a in c["args"]]
    c["command"] = ["sh", "-c"]
    c["args"] = [" ".join(words)]


def as_vllm(d, name):
    c = engine(d, name)
    c.update(image="vllm/vllm-openai:v0.11.0", command=["vllm", "serve", "/models/DeepSeek-R1"],
             args=["--tensor-parallel-size", "3", "--kv-transfer-config", '{"kv_connector":"NixlConnector","kv_role":"kv_both"}'])


CASES = [
    # (id, mutation, rules that fire)
    ("tp-not-the-gpus-of-the-group", lambda d: engine(d, "decode")["resources"]["limits"].update({"nvidia.com/gpu": "4"}),
     {"tp-gpu-mismatch"}),
    ("mooncake-without-rdma-device", drop_rdma, {"rdma-devices-missing"}),
    ("page-size-differs", lambda d: set_flag(engine(d, "decode"), "--page-size", "32"), {"pd-page-size-mismatch"}),
    ("model-differs", lambda d: set_flag(engine(d, "decode"), "--served-model-name", "deepseek-ai/DeepSeek-V3"),
     {"pd-model-mismatch"}),
    ("multi-pod-role-with-a-literal-node-rank", lambda d: set_flag(engine(d, "decode"), "--node-rank", "0"),
     {"node-rank-collision"}),
    ("unknown-sglang-flag", lambda d: engine(d, "prefill")["args"].extend(["--disaggregation-ib-devices", "mlx5_0"]),
     {"flag-unknown"}),
    ("unknown-field-in-a-role", lambda d: role(d, "decode").update(podGroupSzie=2), {"schema-invalid"}),
    # near misses: what the controllers really do keeps these clean
    ("near-miss-shell-script-like-the-samples", lambda d: as_shell_script(d, "decode"), set()),
    ("near-miss-user-env-of-an-injected-name", lambda d: set_env(engine(d, "decode"), "POD_GROUP_INDEX", "0"), set()),
    ("near-miss-two-decode-groups", lambda d: role(d, "decode").update(replicas=2), set()),
    ("near-miss-two-rolesets", lambda d: d[0]["spec"].update(replicas=2), set()),
    ("near-miss-stateless-prefill", lambda d: role(d, "prefill").pop("stateful"), set()),
    ("near-miss-ignore-annotation", lambda d: d[0]["metadata"].update(annotations={"pdcheck.io/ignore": "tp-gpu-mismatch"})
     or engine(d, "decode")["resources"]["limits"].update({"nvidia.com/gpu": "4"}), set()),
    ("near-miss-vllm-roles", lambda d: as_vllm(d, "prefill") or as_vllm(d, "decode"), set()),
]

test_fixture_is_clean, test_defect_fires_its_rule_only = defect_tests(CASES, FIXTURE)


def model_of(d):
    objects, non_objects = objects_from_stream(yaml.safe_dump_all(d, sort_keys=False), "ss.yaml", None)
    return build_model(Render("ss.yaml", "file", objects, non_objects))


ROLESET = "ds-r1-roleset-00000"
PODSET = f"{ROLESET}-decode-hash000000-0"


def test_each_role_is_the_pods_the_controllers_create():
    model = model_of(docs())
    by_name = {w.name: w for w in model.workloads}
    assert set(by_name) == {f"{ROLESET}-prefill-hash000000", PODSET}
    prefill, decode = by_name[f"{ROLESET}-prefill-hash000000"], by_name[PODSET]
    assert (prefill.kind, prefill.replicas, prefill.role) == ("StatefulSet", 1, "prefill")
    assert (decode.kind, decode.replicas, decode.role) == ("StatefulSet", 2, "decode")
    assert decode.obj.namespace == "serving"
    assert [p.name for p in decode.pods] == [f"{PODSET}-0", f"{PODSET}-1"]
    assert prefill.pods[0].name == f"{ROLESET}-prefill-hash000000-0"
    leader, worker = decode.pods
    assert worker.labels == {
        "model.aibrix.ai/name": "deepseek-r1", "model.aibrix.ai/port": "30000", "model.aibrix.ai/engine": "sglang",
        "roleset-name": ROLESET, "role-name": "decode", "role-template-hash": "hash000000", "storm-service-name": "ds-r1",
        "stormservice.orchestration.aibrix.ai/role-replica-index": "0",
        "stormservice.orchestration.aibrix.ai/podset-name": PODSET,
        "stormservice.orchestration.aibrix.ai/pod-group-index": "1",
    }
    assert prefill.pods[0].labels["stormservice.orchestration.aibrix.ai/role-replica-index"] == "0"
    assert "statefulset.kubernetes.io/pod-name" not in worker.labels  # AIBrix, not the StatefulSet controller, makes them
    # the PodSet's env, then the RoleSet's, then the container's own
    assert list(worker.engine.env) == ["PODSET_NAME", "POD_GROUP_INDEX", "POD_GROUP_SIZE", "STORM_SERVICE_NAME",
                                       "ROLESET_NAME", "ROLESET_INDEX", "ROLE_NAME", "ROLE_TEMPLATE_HASH",
                                       "ROLE_REPLICA_INDEX", "NCCL_IB_HCA", "GLOO_SOCKET_IFNAME"]
    assert worker.engine.env_value("POD_GROUP_INDEX") == "1"
    assert worker.engine.env_value("ROLE_TEMPLATE_HASH") == "<role-template-hash>"  # a hash only the controller computes
    assert worker.engine.argv[worker.engine.argv.index("--dist-init-addr") + 1] == f"{PODSET}-0.ds-r1.serving.svc.cluster.local:5000"
    assert (leader.engine.int_flag("--node-rank"), worker.engine.int_flag("--node-rank")) == (0, 1)
    assert worker.spec["subdomain"] == "ds-r1"


def test_stateless_roles_get_no_replica_index():
    d = docs()
    role(d, "prefill").pop("stateful")
    prefill = next(w for w in model_of(d).workloads if w.role == "prefill")
    assert (prefill.kind, prefill.name) == ("Deployment", f"{ROLESET}-prefill")
    assert "ROLE_REPLICA_INDEX" not in prefill.pods[0].engine.env
    assert "stormservice.orchestration.aibrix.ai/role-replica-index" not in prefill.pods[0].labels
    assert "pod-template-hash" not in prefill.pods[0].labels


def test_user_env_of_an_injected_name_is_dropped():
    d = docs()
    set_env(engine(d, "decode"), "ROLE_NAME", "mine")
    set_env(engine(d, "decode"), "POD_GROUP_INDEX", "0")
    worker = next(w for w in model_of(d).workloads if w.role == "decode").pods[1]
    assert worker.engine.env_value("ROLE_NAME") == "decode"
    assert worker.engine.env_value("POD_GROUP_INDEX") == "1"


def test_template_labels_win_over_podset_labels_but_not_over_roleset_labels():
    d = docs()
    for name in ("prefill", "decode"):
        role(d, name)["template"]["metadata"]["labels"]["role-name"] = "mine"
    by_role = {w.role: w for w in model_of(d).workloads}
    assert by_role["prefill"].pods[0].labels["role-name"] == "prefill"  # renderStormServicePod sets it over the template's
    assert by_role["decode"].pods[0].labels["role-name"] == "mine"  # createPodFromTemplate inherits PodSet labels only where absent


def test_the_headless_service_selects_every_pod():
    objects, _ = objects_from_stream((FIXTURES / FIXTURE).read_text(), FIXTURE, None)
    [svc] = [o for o in adapters.expand(objects) if o.kind == "Service"]
    assert (svc.name, svc.namespace) == ("ds-r1", "serving")
    assert svc.doc["spec"] == {"clusterIP": "None", "publishNotReadyAddresses": True, "selector": {"storm-service-name": "ds-r1"}}


def test_the_fixture_is_not_changed_by_modelling():
    assert_modelling_changes_nothing(docs())
    assert_modelling_changes_nothing([as_roleset(docs()[0])])


def test_malformed_roles_are_skipped_not_crashed_on():
    d = docs()
    roles = d[0]["spec"]["template"]["spec"]["roles"]
    roles[:0] = [None, {"name": 3}, {"name": "x", "template": []}, {"name": "y", "template": {}, "podGroupSize": "two"}]
    assert [w.name for w in model_of(d).workloads] == [f"{ROLESET}-y", f"{ROLESET}-prefill-hash000000", PODSET]
    d[0]["spec"]["template"] = {"spec": {"roles": {"prefill": {}}}}
    assert model_of(d).workloads == []
    d[0]["spec"] = "x"
    assert model_of(d).workloads == []


def test_findings_point_at_the_role_in_the_file(tmp_path):
    d = docs()
    set_flag(engine(d, "decode"), "--tp", "12")
    path = tmp_path / "ss.yaml"
    path.write_text(yaml.safe_dump_all(d, sort_keys=False))
    findings = [f for f in run(Options(paths=[str(path)], no_cache=True)).findings if f.rule == "tp-gpu-mismatch"]
    assert findings
    f = findings[0]
    assert f.object == "StormService/serving/ds-r1"
    assert f.path_text.startswith("spec.template.spec.roles[1].template.spec.containers[0].")
    lines = path.read_text().splitlines()
    assert f.file == str(path) and lines[f.line - 1].strip() in ("- --tp", "- '12'")


def test_effective_pods_show_pod_group_ranks_like_lws_ranks():
    objects, _ = objects_from_stream((FIXTURES / FIXTURE).read_text(), FIXTURE, None)
    pods = [doc for doc in effective_documents(build_model(Render(FIXTURE, "file", objects, []))) if doc["role"] == "decode"]
    assert [(p["rank"], p["pod"]) for p in pods] == [(0, f"{PODSET}-0"), (1, f"{PODSET}-1")]
    assert pods[1]["object"] == f"StormService/serving/ds-r1 role decode (PodSet {PODSET})"
    assert pods[1]["env"]["POD_GROUP_INDEX"] == "1"
    assert pods[1]["argv"][pods[1]["argv"].index("--node-rank") + 1] == "1"


def test_vllm_roles_get_no_sglang_finding():
    d = docs()
    as_vllm(d, "prefill")
    as_vllm(d, "decode")
    assert rules_fired(d) == set()
    assert model_of(d).engines_by_role("decode") == []


def test_names_follow_the_controllers():
    assert ssa.roleset_name("x") == "x-roleset-00000"
    assert ssa.podset_name("x-roleset-00000", "decode") == "x-roleset-00000-decode-hash000000-0"
    assert len(ssa.HASH_STAND_IN) == len(str(2**32 - 1))  # ComputeHash encodes a uint32's decimal digits


# --- schema -----------------------------------------------------------------------------------

SCHEMA_DEFECTS = [
    # (id, mutation, path of the issue)
    ("unknown-role-field", lambda x: role([x], "decode").update(podGroupSzie=2),
     ("spec", "template", "spec", "roles", 1, "podGroupSzie")),
    ("unknown-spec-field", lambda x: x["spec"].update(roles=[]), ("spec", "roles")),
    ("pod-group-size-over-100", lambda x: role([x], "decode").update(podGroupSize=101),
     ("spec", "template", "spec", "roles", 1, "podGroupSize")),
    ("replicas-not-an-integer", lambda x: role([x], "decode").update(replicas="2"),
     ("spec", "template", "spec", "roles", 1, "replicas")),
    ("pod-field-misspelt", lambda x: role([x], "decode")["template"]["spec"].update(volume=[]),
     ("spec", "template", "spec", "roles", 1, "template", "spec", "volume")),
    ("container-field-misspelt", lambda x: engine([x], "decode").update(arg=[]),
     ("spec", "template", "spec", "roles", 1, "template", "spec", "containers", 0, "arg")),
]


test_fixture_valid_for_bundled_schema_and_upstream_crd, test_defect_rejected_by_bundled_schema_and_upstream_crd = \
    schema_tests(lambda: docs()[0], ss_crd, SCHEMA_DEFECTS)


def test_bundled_schema_has_the_fields_of_the_crd():
    from pdcheck.schema.validator import _load_project_schema

    crd = yaml.safe_load(ss_crd().read_text())
    [version] = [v for v in crd["spec"]["versions"] if v["name"] == "v1alpha1"]
    upstream_spec = version["schema"]["openAPIV3Schema"]["properties"]["spec"]
    ours = _load_project_schema("stormservice-v1alpha1.json")["properties"]["spec"]
    assert set(ours["properties"]) == set(upstream_spec["properties"])
    up_roleset = upstream_spec["properties"]["template"]["properties"]["spec"]
    our_roleset = ours["properties"]["template"]["properties"]["spec"]
    assert set(our_roleset["properties"]) == set(up_roleset["properties"])
    up_role, our_role = up_roleset["properties"]["roles"]["items"], our_roleset["properties"]["roles"]["items"]
    assert set(our_role["properties"]) == set(up_role["properties"])
    assert our_role["additionalProperties"] is False
    assert our_role["properties"]["template"]["$ref"].endswith("io.k8s.api.core.v1.PodTemplateSpec")


def test_one_finding_for_a_template_every_pod_shares(tmp_path):
    """The pods of a PodSet come from one template: a problem in it is reported once, not per pod."""
    d = docs()
    engine(d, "decode")["image"] = "my-registry/sglang:latest"
    path = tmp_path / "ss.yaml"
    path.write_text(yaml.safe_dump_all(d, sort_keys=False))
    findings = [f for f in run(Options(paths=[str(path)], no_cache=True)).findings if f.rule == "image-unpinned"]
    assert [f.path_text for f in findings] == ["spec.template.spec.roles[1].template.spec.containers[0].image"]


# --- a RoleSet applied on its own -------------------------------------------------------------

def as_roleset(storm_service: dict, labels=None, annotations=None) -> dict:
    """The StormService's RoleSet written by hand: its roles at spec.roles."""
    metadata = {"name": "ds-r1-roleset-manual", "namespace": "serving", "labels": labels or {}, "annotations": annotations or {}}
    return {"apiVersion": "orchestration.aibrix.ai/v1alpha1", "kind": "RoleSet", "metadata": metadata,
            "spec": {"roles": storm_service["spec"]["template"]["spec"]["roles"]}}


def test_a_roleset_alone_runs_the_same_pods():
    rs = as_roleset(docs()[0], labels={"storm-service-name": "ds-r1"}, annotations={"stormservice.orchestration.aibrix.ai/roleset-index": "0"})
    model = model_of([rs])
    decode = next(w for w in model.workloads if w.role == "decode")
    worker = decode.pods[1]
    assert worker.name == "ds-r1-roleset-manual-decode-hash000000-0-1"
    assert (worker.engine.env_value("ROLESET_NAME"), worker.engine.env_value("ROLESET_INDEX")) == ("ds-r1-roleset-manual", "0")
    assert worker.engine.argv[worker.engine.argv.index("--dist-init-addr") + 1].startswith("ds-r1-roleset-manual-decode-hash000000-0-0.ds-r1.")
    assert rules_fired([rs]) == set()
    assert not [o for o in adapters.expand(objects_from_stream(yaml.safe_dump(rs), "rs.yaml", None)[0]) if o.kind == "Service"]


def test_a_roleset_alone_without_a_storm_service_label():
    rs = as_roleset(docs()[0])
    worker = next(w for w in model_of([rs]).workloads if w.role == "decode").pods[1]
    assert (worker.engine.env_value("STORM_SERVICE_NAME"), worker.engine.env_value("ROLESET_INDEX")) == ("", "")
    assert "subdomain" not in worker.spec


def test_roleset_defects_point_into_the_roleset():
    rs = as_roleset(docs()[0], labels={"storm-service-name": "ds-r1"})
    engine([{"spec": {"template": {"spec": rs["spec"]}}}], "decode")["resources"]["limits"]["nvidia.com/gpu"] = "4"
    findings = run_rules([rs])
    assert {f.rule for f in findings} == {"tp-gpu-mismatch"}
    assert all(f.object == "RoleSet/serving/ds-r1-roleset-manual" and f.path_text.startswith("spec.roles[1].template.spec.containers[0].")
               for f in findings)


def test_bundled_roleset_schema_has_the_fields_of_the_crd():
    from pdcheck.schema import SchemaValidator
    from pdcheck.schema.validator import _load_project_schema

    crd_path = shared_path("reference", "wrappers", "aibrix-roleset.yaml")
    crd = yaml.safe_load(crd_path.read_text())
    [version] = [v for v in crd["spec"]["versions"] if v["name"] == "v1alpha1"]
    upstream_spec = version["schema"]["openAPIV3Schema"]["properties"]["spec"]
    ours = _load_project_schema("roleset-v1alpha1.json")["properties"]["spec"]
    assert set(ours["properties"]) == set(upstream_spec["properties"])
    assert set(ours["properties"]["roles"]["items"]["properties"]) == set(upstream_spec["properties"]["roles"]["items"]["properties"])
    rs = as_roleset(docs()[0])
    for validator in (SchemaValidator(), SchemaValidator(crd_files=[crd_path])):
        assert validator.validate(rs) == []
    rs["spec"]["roles"][1]["podGroupSzie"] = 2
    for validator in (SchemaValidator(), SchemaValidator(crd_files=[crd_path])):
        assert [i.path for i in validator.validate(rs) if i.kind == "invalid"][:1] == [("spec", "roles", 1, "podGroupSzie")]


def test_init_containers_get_no_aibrix_env():
    """injectContainerEnvVars and createPodFromTemplate write Spec.Containers only."""
    d = docs()
    role(d, "decode")["template"]["spec"]["initContainers"] = [{"name": "wait", "image": "busybox:1.36", "command": ["true"]}]
    worker = next(w for w in model_of(d).workloads if w.role == "decode").pods[1]
    assert "POD_GROUP_INDEX" in worker.containers[0].env
    assert worker.init_containers[0].env == {}
