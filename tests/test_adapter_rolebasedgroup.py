"""The RoleBasedGroup adapter: each role runs through every rule as the workload the RBG controller
creates (RoleInstanceSet pods with RBG_* env, or an LWS/StatefulSet/Deployment), router URLs reach the
leaders through RBG's DNS names and Services, findings point into the RoleBasedGroup, and the bundled
schemas are the CRDs'."""

import copy
import json
import sys
from pathlib import Path

import pytest
import yaml
from reference_material import shared_path
from ruletest import FIXTURES, baseline, defect_tests, run_rules, rules_fired, set_flag

from pdcheck.adapters import rolebasedgroup as rbga
from pdcheck.checker import Options, run
from pdcheck.effective import effective_documents
from pdcheck.model import build_model
from pdcheck.objects import DerivedObject, Render
from pdcheck.render import objects_from_stream
from pdcheck.schema import SchemaValidator

FIXTURE = "rolebasedgroup.yaml"
REPO = Path(__file__).resolve().parents[1]


def shared_crds() -> Path:
    return shared_path("reference", "wrappers")


def docs() -> list[dict]:
    return baseline(FIXTURE)


def role(d, name):
    return next(r for r in d[0]["spec"]["roles"] if r["name"] == name)


def pattern(d, name):
    return role(d, name)["leaderWorkerPattern"]


def engine(d, name):
    return pattern(d, name)["template"]["spec"]["containers"][0]


def router_args(d):
    return role(d, "router")["standalonePattern"]["template"]["spec"]["containers"][0]["args"]


def replace_arg(args, old, new):
    args[args.index(old)] = new


DECODE_URL = "http://r1-decode-0-0.s-r1-decode:28000"


def no_rdma_device(d):
    c = engine(d, "decode")
    c["volumeMounts"] = [m for m in c["volumeMounts"] if m["name"] != "infiniband"]
    c["securityContext"]["privileged"] = False


def worker_ib_devices_differ(d):
    """The decode workers' patch narrows the NICs to two of four (flag and env agree)."""
    worker = copy.deepcopy(engine(d, "decode"))
    set_flag(worker, "--disaggregation-ib-device", "mlx5_bond_0,mlx5_bond_1")
    pattern(d, "decode")["workerTemplatePatch"] = {"spec": {"containers": [{
        "name": "sglang", "args": worker["args"],
        "env": [{"name": "NCCL_IB_HCA", "value": "mlx5_bond_0,mlx5_bond_1"},
                {"name": "NVSHMEM_HCA_LIST", "value": "mlx5_bond_0:1,mlx5_bond_1:1"}]}]}}


def decode_through_role_service(d, replicas=1, selection=None):
    replace_arg(router_args(d), DECODE_URL, "http://s-r1-decode:28000")
    role(d, "decode")["replicas"] = replicas
    if selection:
        pattern(d, "decode")["sharedServiceSelection"] = selection


def prefill_on_leaderworkerset(d, env_prefix="LWS"):
    """The prefill role annotated to run as a LeaderWorkerSet: LWS_* env, LWS pod names."""
    role(d, "prefill")["annotations"] = {rbga.WORKLOAD_TYPE_ANNOTATION: rbga.LEADER_WORKER_SET}
    args = engine(d, "prefill")["args"]
    for name in ("LEADER_ADDRESS", "GROUP_SIZE", "WORKER_INDEX"):
        args[:] = [a.replace(f"$(RBG_LWP_{name})", f"$({env_prefix}_{name})") for a in args]
    replace_arg(router_args(d), "http://r1-prefill-0-0.s-r1-prefill:28000", "http://r1-prefill-0.r1-prefill:28000")


def router_on_nodeport(d):
    svc = next(x for x in d if x["kind"] == "Service")
    svc["spec"]["type"] = "NodePort"


CASES = [
    # (id, mutation, rules that fire)
    ("mooncake-without-rdma-device", no_rdma_device, {"rdma-devices-missing", "deepep-ibgda-unprivileged"}),
    ("router-exposed-without-api-key", router_on_nodeport, {"exposed-without-auth"}),
    ("router-url-wrong-port", lambda d: replace_arg(router_args(d), DECODE_URL, "http://r1-decode-0-0.s-r1-decode:28001"),
     {"router-url-port"}),
    ("router-url-names-the-instance-not-its-leader", lambda d: replace_arg(router_args(d), DECODE_URL, "http://r1-decode-0.s-r1-decode:28000"),
     {"router-url-unverifiable"}),
    ("router-url-other-role", lambda d: replace_arg(router_args(d), DECODE_URL, "http://r1-prefill-0-0.s-r1-prefill:28000"),
     {"pd-role-mismatch"}),
    ("static-url-to-a-role-of-two-instances", lambda d: decode_through_role_service(d, replicas=2),
     {"router-static-multi-replica-decode"}),
    ("role-service-selects-workers-too", lambda d: decode_through_role_service(d, selection="All"), {"router-url-target"}),
    # the env var differs (env-drift) and so does the device list NCCL uses (rdma-devices-rank-drift)
    ("decode-worker-ib-devices-differ-from-leader", worker_ib_devices_differ, {"env-drift", "rdma-devices-rank-drift"}),
    ("lws-env-on-a-role-instance-set", lambda d: prefill_on_leaderworkerset(d) or role(d, "prefill").pop("annotations"),
     {"unresolved-variable", "router-url-unverifiable"}),
    ("group-size-not-nnodes-x-gpus", lambda d: pattern(d, "decode").update(size=4), {"tp-gpu-mismatch"}),
    ("unknown-field-in-a-pattern", lambda d: pattern(d, "decode").update(sizee=2), {"schema-invalid"}),
    # near misses: what the controller really does keeps these clean
    ("near-miss-role-service-one-instance", decode_through_role_service, set()),
    ("near-miss-prefill-as-leaderworkerset", prefill_on_leaderworkerset, set()),
    ("near-miss-identical-worker-patch", lambda d: pattern(d, "decode").update(
        workerTemplatePatch={"metadata": {"labels": {"tier": "worker"}}}), set()),
    ("near-miss-role-level-restart-policy", lambda d: role(d, "decode").update(restartPolicy="None"), set()),
    ("near-miss-ignore-annotation-on-the-group", lambda d: d[0]["metadata"].update(
        annotations={"pdcheck.io/ignore": "env-drift, rdma-devices-rank-drift"}) or worker_ib_devices_differ(d), set()),
]

test_fixture_is_clean, test_defect_fires_its_rule_only = defect_tests(CASES, FIXTURE)


def model_of(d):
    objects, non_objects = objects_from_stream(yaml.safe_dump_all(d, sort_keys=False), "rbg.yaml", None)
    return build_model(Render("rbg.yaml", "file", objects, non_objects))


def test_each_role_is_the_workload_the_controller_creates():
    d = docs()
    d[0]["metadata"]["namespace"] = "serving"
    model = model_of(d)
    by_name = {w.name: w for w in model.workloads}
    assert set(by_name) == {"r1-router", "r1-prefill", "r1-decode"}
    decode = by_name["r1-decode"]
    assert (decode.size, decode.replicas, decode.role, decode.runs_on_lws) == (2, 1, "decode", False)
    leader, worker = decode.pods
    assert (leader.name, worker.name) == ("r1-decode-0-0", "r1-decode-0-1")
    assert (leader.subdomain, worker.subdomain) == ("s-r1-decode", None)
    assert leader.labels[rbga.GROUP_NAME_LABEL] == "r1" and leader.labels[rbga.ROLE_NAME_LABEL] == "decode"
    assert (leader.labels[rbga.COMPONENT_NAME_LABEL], worker.labels[rbga.COMPONENT_NAME_LABEL]) == ("leader", "worker")
    assert leader.labels["app.kubernetes.io/component"] == "decode"  # the user's template labels stay
    assert "leaderworkerset.sigs.k8s.io/name" not in leader.labels  # no LWS controller here
    env = worker.engine.env
    assert {n: env[n].value for n in env if n.startswith("RBG_")} == {
        "RBG_GROUP_NAME": "r1", "RBG_ROLE_NAME": "decode", "RBG_ROLE_INDEX": "0", "RBG_ROLE_INSTANCE_NAME": "r1-decode-0",
        "RBG_COMPONENT_NAME": "worker", "RBG_COMPONENT_INDEX": "0",
        "RBG_LWP_LEADER_ADDRESS": "r1-decode-0-0.s-r1-decode.serving", "RBG_LWP_WORKER_INDEX": "1", "RBG_LWP_GROUP_SIZE": "2"}
    assert "LWS_LEADER_ADDRESS" not in env
    assert "r1-decode-0-0.s-r1-decode.serving:20102" in worker.engine.argv
    services = {s.name: s for s in model.objects_of("Service") if isinstance(s, DerivedObject)}
    assert sorted(services) == ["s-r1-decode", "s-r1-prefill", "s-r1-router"]
    decode_svc = services["s-r1-decode"]
    assert decode_svc.doc["spec"]["selector"] == {rbga.GROUP_NAME_LABEL: "r1", rbga.ROLE_NAME_LABEL: "decode",
                                                 rbga.COMPONENT_NAME_LABEL: "leader"}
    router = by_name["r1-router"]
    assert [p.name for p in router.pods] == ["r1-router-0", "r1-router-1"]
    assert router.pods[1].router.env_value("RBG_ROLE_INDEX") == "1"


def test_workload_type_annotation_and_v1alpha1_roles():
    """An LWS-typed role is that LWS (LWS_* and RBG_* env); v1alpha1 roles default to StatefulSets."""
    d = docs()
    prefill_on_leaderworkerset(d)
    prefill = next(w for w in model_of(d).workloads if w.name == "r1-prefill")
    assert prefill.runs_on_lws and prefill.pods[1].name == "r1-prefill-0-1"
    assert prefill.pods[1].engine.env_value("LWS_WORKER_INDEX") == "1"
    assert prefill.pods[1].engine.env_value("RBG_ROLE_NAME") == "prefill"
    assert prefill.pods[0].labels[rbga.ROLE_NAME_LABEL] == "prefill"

    v1 = {"apiVersion": "workloads.x-k8s.io/v1alpha1", "kind": "RoleBasedGroup", "metadata": {"name": "g"},
          "spec": {"roles": [{"name": "router", "replicas": 2, "template": role(docs(), "router")["standalonePattern"]["template"]},
                             {"name": "api", "replicas": 1, "workload": {"apiVersion": "apps/v1", "kind": "Deployment"},
                              "template": role(docs(), "router")["standalonePattern"]["template"]}]}}
    by_name = {w.name: w for w in model_of([v1]).workloads}
    sts, deployment = by_name["g-router"], by_name["g-api"]
    assert (sts.kind, [p.name for p in sts.pods], sts.pods[0].subdomain) == ("StatefulSet", ["g-router-0", "g-router-1"], "s-g-router")
    assert sts.pods[1].router.env_value("RBG_ROLE_INDEX") == "1"
    assert deployment.kind == "Deployment" and deployment.pods[0].router.env_value("RBG_ROLE_INDEX") is None


def test_role_template_reference_and_group_set():
    d = docs()
    template = role(d, "router")["standalonePattern"].pop("template")
    d[0]["spec"]["roleTemplates"] = [{"name": "router-tpl", "template": template}]
    role(d, "router")["standalonePattern"]["templateRef"] = {
        "name": "router-tpl", "patch": {"metadata": {"labels": {"patched": "yes"}}}}
    router = next(w for w in model_of(d).workloads if w.name == "r1-router")
    assert router.pods[0].labels["patched"] == "yes" and router.role == "router"

    group_set = {"apiVersion": "workloads.x-k8s.io/v1alpha2", "kind": "RoleBasedGroupSet", "metadata": {"name": "set"},
                 "spec": {"replicas": 3, "groupTemplate": {"spec": docs()[0]["spec"]}}}
    names = sorted(w.name for w in model_of([group_set]).workloads)
    assert names == ["set-0-decode", "set-0-prefill", "set-0-router"]


def test_the_fixture_is_not_changed_by_modelling():
    d = docs()
    worker_ib_devices_differ(d)
    before = copy.deepcopy(d)
    objects, _ = objects_from_stream(yaml.safe_dump_all(d, sort_keys=False), "rbg.yaml", None)
    snapshot = copy.deepcopy([o.doc for o in objects])
    build_model(Render("rbg.yaml", "file", objects, []))
    assert [o.doc for o in objects] == snapshot
    assert d == before


def test_malformed_roles_are_skipped_not_crashed_on():
    d = docs()
    d[0]["spec"]["roles"] = [None, {"name": "x"}, {"name": 3}, {"name": "y", "leaderWorkerPattern": []},
                             {"name": "z", "standalonePattern": {"templateRef": {"name": "missing"}}}, role(d, "router")]
    assert [w.name for w in model_of(d).workloads] == ["r1-router"]
    d[0]["spec"] = {"roles": "prefill"}
    assert model_of(d).workloads == []


def test_custom_components_with_sglang_are_said_not_checked():
    d = docs()
    d[0]["spec"]["roles"].append({"name": "extra", "replicas": 1, "customComponentsPattern": {"components": [
        {"name": "c", "size": 1, "template": copy.deepcopy(pattern(d, "decode")["template"])}]}})
    assert "wrapper-kind-not-checked" in rules_fired(d)


def test_vllm_roles_get_no_sglang_finding():
    vllm = {"name": "vllm", "image": "vllm/vllm-openai:v0.11.0", "command": ["vllm", "serve", "Qwen/Qwen3-0.6B"],
            "args": ["--port", "8000", "--kv-transfer-config", '{"kv_connector":"MooncakeConnector"}'],
            "resources": {"limits": {"nvidia.com/gpu": "1"}}}
    d = [{"apiVersion": "workloads.x-k8s.io/v1alpha2", "kind": "RoleBasedGroup", "metadata": {"name": "v"},
          "spec": {"roles": [{"name": "prefill", "replicas": 2, "leaderWorkerPattern": {"size": 2, "template": {
              "spec": {"containers": [vllm]}}}}]}}]
    assert rules_fired(d) == set()


def test_findings_point_at_the_role_in_the_file(tmp_path):
    d = docs()
    pattern(d, "decode")["size"] = 4
    path = tmp_path / "rbg.yaml"
    path.write_text(yaml.safe_dump_all(d, sort_keys=False))
    [f] = run(Options(paths=[str(path)], no_cache=True)).findings
    assert (f.rule, f.object) == ("tp-gpu-mismatch", "RoleBasedGroup/r1")
    assert f.path_text.startswith("spec.roles[2].leaderWorkerPattern.template.spec.containers[0].args[")
    lines = path.read_text().splitlines()
    assert "--tp-size" in lines[f.line - 1] and f.file == str(path)


def test_effective_pods_match_the_same_deployment_as_two_leaderworkersets():
    """`render --effective` shows RBG ranks like LWS ranks: the same argv up to the leader address,
    the LWS_* env replaced by RBG's."""
    def effective(name):
        objects, _ = objects_from_stream((FIXTURES / name).read_text(), name, None)
        return [doc for doc in effective_documents(build_model(Render(name, "file", objects, [])))
                if doc["role"] in ("prefill", "decode")]

    plain, wrapped = effective("baseline.yaml"), effective(FIXTURE)
    assert len(plain) == len(wrapped) == 4
    for p, w in zip(plain, wrapped):
        assert p.keys() == w.keys()
        assert (w["role"], w["rank"]) == (p["role"], p["rank"])
        assert w["pod"] == f"r1-{p['role']}-0-{p['rank']}"
        leader = f"r1-{p['role']}-0-0.s-r1-{p['role']}.default"
        assert w["argv"] == [a.replace(f"r1-{p['role']}-0.r1-{p['role']}.default", leader) for a in p["argv"]]
        user_env = {k: v for k, v in w["env"].items() if not k.startswith("RBG_")}
        assert user_env == {k: v for k, v in p["env"].items() if not k.startswith("LWS_")}
        assert w["object"] == f"RoleBasedGroup/r1 role {p['role']} (RoleInstanceSet r1-{p['role']})"


# --- schema -----------------------------------------------------------------------------------

SCHEMA_DEFECTS = [
    # (id, mutation, path of the issue)
    ("no-roles", lambda g: g.update(spec={}), ("spec",)),
    ("replicas-negative", lambda g: g["spec"]["roles"][1].update(replicas=-1), ("spec", "roles", 1, "replicas")),
    ("unknown-selection", lambda g: g["spec"]["roles"][2]["leaderWorkerPattern"].update(sharedServiceSelection="Workers"),
     ("spec", "roles", 2, "leaderWorkerPattern", "sharedServiceSelection")),
    ("pod-field-in-template", lambda g: g["spec"]["roles"][2]["leaderWorkerPattern"]["template"]["spec"].update(hostNetwerk=True),
     ("spec", "roles", 2, "leaderWorkerPattern", "template", "spec", "hostNetwerk")),
]


@pytest.fixture(scope="module")
def bundled():
    return SchemaValidator()


def test_fixture_valid_for_bundled_schema(bundled):
    assert bundled.validate(docs()[0]) == []


@pytest.mark.parametrize("mutate, path", [c[1:] for c in SCHEMA_DEFECTS], ids=[c[0] for c in SCHEMA_DEFECTS])
def test_defect_rejected_by_bundled_schema(bundled, mutate, path):
    group = docs()[0]
    mutate(group)
    issues = bundled.validate(group)
    assert [i.path for i in issues if i.kind == "invalid"][:1] == [path], issues


def test_bundled_schemas_are_generated_from_the_crds():
    """tools/gen_rbg_schemas.py writes them from the upstream CRDs: regenerating changes nothing."""
    shared_crds()
    sys.path.insert(0, str(REPO / "tools"))
    try:
        import gen_rbg_schemas as gen
    finally:
        sys.path.pop(0)
    for version in ("v1alpha1", "v1alpha2"):
        schema = gen.schema_for("rbg-rolebasedgroup.yaml", version, "RoleBasedGroup", [("spec", "roles")])
        bundled_file = REPO / "tools" / "pdcheck" / "schemas" / f"rolebasedgroup-{version}.json"
        assert json.loads(bundled_file.read_text()) == json.loads(json.dumps(schema))
        profile = gen.schema_for("rbg-clusterengineruntimeprofile.yaml", version, "ClusterEngineRuntimeProfile")
        bundled_file = REPO / "tools" / "pdcheck" / "schemas" / f"clusterengineruntimeprofile-{version}.json"
        assert json.loads(bundled_file.read_text()) == json.loads(json.dumps(profile))


def test_engine_runtime_profile_schema(bundled):
    """The profile an engineRuntimes entry names is validated (its injected containers are not modelled)."""
    profile = {"apiVersion": "workloads.x-k8s.io/v1alpha2", "kind": "ClusterEngineRuntimeProfile",
               "metadata": {"name": "sglang-pd-runtime"},
               "spec": {"updateStrategy": "NoUpdate",
                        "containers": [{"name": "patio-runtime", "image": "example/patio:v1", "args": ["--x"]}],
                        "volumes": [{"name": "cache", "emptyDir": {}}]}}
    assert bundled.validate(profile) == []
    profile["spec"]["containers"][0]["argz"] = []
    assert [i.path for i in bundled.validate(profile) if i.kind == "invalid"] == [("spec", "containers", 0, "argz")]


def test_findings_about_patched_fields_point_at_the_patch():
    d = docs()
    worker_ib_devices_differ(d)
    template = pattern(d, "prefill").pop("template")
    d[0]["spec"]["roleTemplates"] = [{"name": "engine", "template": template}]
    pattern(d, "prefill")["templateRef"] = {"name": "engine", "patch": {"spec": {"containers": [
        {"name": "sglang", "readinessProbe": {"httpGet": {"path": "/health", "port": 28000}, "timeoutSeconds": 1}}]}}}
    findings = {(f.rule, tuple(f.path)) for f in run_rules(d)}
    role_at = ("spec", "roles")
    assert findings == {
        ("env-drift", role_at + (2, "leaderWorkerPattern", "template", "spec", "containers", 0, "env")),  # the leader's: the base
        ("rdma-devices-rank-drift", role_at + (2, "leaderWorkerPattern", "workerTemplatePatch", "spec", "containers", 0, "args", 11)),
        ("health-probe-timeout", role_at + (1, "leaderWorkerPattern", "templateRef", "patch", "spec", "containers", 0,
                                            "readinessProbe", "timeoutSeconds")),
    }


def test_rank_fixes_name_the_env_rbg_injects():
    d = docs()
    set_flag(engine(d, "decode"), "--nnodes", "4")
    [f] = [f for f in run_rules(d) if f.rule == "lws-size-nnodes"]
    assert "$(RBG_LWP_GROUP_SIZE)" in f.fix and "LWS_" not in f.fix


def test_host_network_ranks_resolving_the_rbg_leader_address_need_cluster_dns():
    d = docs()
    template = pattern(d, "decode")["template"]["spec"]
    template["dnsPolicy"] = "ClusterFirst"  # hostNetwork pods then resolve with the node's DNS
    [f] = run_rules(d)
    assert f.rule == "hostnetwork-dns-policy" and "RBG_LWP_LEADER_ADDRESS" in f.message


def test_engine_runtime_profile_in_the_render_is_injected_into_leaders():
    """The profile's containers and volumes are appended to the leader (not the workers), the role's
    engineRuntimes args/env to the injected container; a finding there points at the entry."""
    d = docs()
    pattern(d, "decode")["workerTemplatePatch"] = {"metadata": {"labels": {"tier": "worker"}}}
    role(d, "decode")["engineRuntimes"] = [{"profileName": "sidecar", "containers": [
        {"name": "patio", "args": ["--port", "9000"], "env": [{"name": "MODE", "value": "decode"}]}]}]
    profile = {"apiVersion": "workloads.x-k8s.io/v1alpha2", "kind": "ClusterEngineRuntimeProfile",
               "metadata": {"name": "sidecar"},
               "spec": {"updateStrategy": "NoUpdate",
                        "containers": [{"name": "patio", "image": "example/patio:v1.2.0", "args": ["--serve"]}],
                        "volumes": [{"name": "patio-cache", "emptyDir": {}}]}}
    decode = next(w for w in model_of(d + [profile]).workloads if w.name == "r1-decode")
    leader, worker = decode.pods
    patio = next(c for c in leader.containers if c.name == "patio")
    assert patio.argv == ["--serve", "--port", "9000"] and patio.env_value("MODE") == "decode"
    assert patio.env_value("RBG_ROLE_NAME") == "decode"
    assert [c.name for c in worker.containers] == ["sglang"]
    parent, path = decode.obj.source(decode.leader_template_path + ("spec", "containers", 1, "args", 1))
    assert parent is decode.obj.parent and path[:5] == ("spec", "roles", 2, "engineRuntimes", 0)
    assert rules_fired(d + [profile]) == set()
    assert "patio" not in [c.name for c in model_of(d).workloads[2].pods[0].containers]  # profile not in the render
