"""The DisaggregatedSet adapter: its roles run through every rule as the LeaderWorkerSets its
controller creates, findings point into the DisaggregatedSet, and its schema matches the CRD."""

import copy
from pathlib import Path

import pytest
import yaml
from reference_material import shared_path
from ruletest import FIXTURES, baseline, defect_tests, drop_env, rules_fired, set_env, set_flag

from pdcheck.adapters import disaggregatedset as dsa
from pdcheck.checker import Options, build_models, run
from pdcheck.effective import effective_documents
from pdcheck.model import build_model
from pdcheck.objects import Render
from pdcheck.render import objects_from_stream
from pdcheck.schema import SchemaValidator

FIXTURE = "disaggregatedset.yaml"


def ds_crd() -> Path:
    return shared_path("reference", "lws-crd-disaggregatedsets.yaml")


def docs() -> list[dict]:
    return baseline(FIXTURE)


def role(d, name):
    return next(r for r in d[0]["spec"]["roles"] if r["name"] == name)


def template(d, name):
    return role(d, name)["spec"]["leaderWorkerTemplate"]["workerTemplate"]


def engine(d, name):
    return template(d, name)["spec"]["containers"][0]


def router_args(d):
    deployment = next(x for x in d if x["kind"] == "Deployment")
    return deployment["spec"]["template"]["spec"]["containers"][0]["args"]


def service(d, name):
    return next(x for x in d if x["kind"] == "Service" and x["metadata"]["name"] == name)


def replace_arg(args, old, new):
    args[args.index(old)] = new


def no_rdma_device(d):
    c = engine(d, "decode")
    c["volumeMounts"] = [m for m in c["volumeMounts"] if m["name"] != "infiniband"]
    c["securityContext"]["privileged"] = False


def worker_ib_devices_differ(d):
    """Decode gets its own leader template; its workers use two of the four NICs (flag and env agree)."""
    lwt = role(d, "decode")["spec"]["leaderWorkerTemplate"]
    lwt["leaderTemplate"] = copy.deepcopy(lwt["workerTemplate"])
    c = engine(d, "decode")
    set_flag(c, "--disaggregation-ib-device", "mlx5_bond_0,mlx5_bond_1")
    set_env(c, "NCCL_IB_HCA", "mlx5_bond_0,mlx5_bond_1")
    set_env(c, "NVSHMEM_HCA_LIST", "mlx5_bond_0:1,mlx5_bond_1:1")


def separate_identical_leader(d):
    lwt = role(d, "decode")["spec"]["leaderWorkerTemplate"]
    lwt["leaderTemplate"] = copy.deepcopy(lwt["workerTemplate"])


def worker_dist_init_port(d):
    lwt = role(d, "prefill")["spec"]["leaderWorkerTemplate"]
    lwt["leaderTemplate"] = copy.deepcopy(lwt["workerTemplate"])
    set_flag(engine(d, "prefill"), "--dist-init-addr", "$(LWS_LEADER_ADDRESS):20103")


def select(d, name, selector):
    service(d, name)["spec"]["selector"] = selector


CASES = [
    # (id, mutation, rules that fire)
    ("mooncake-without-rdma-device", no_rdma_device, {"rdma-devices-missing", "deepep-ibgda-unprivileged"}),
    ("router-url-wrong-port", lambda d: replace_arg(router_args(d), "http://r1-decode-leader:28000", "http://r1-decode-leader:28001"),
     {"router-url-port"}),
    ("router-url-other-role-service", lambda d: replace_arg(router_args(d), "http://r1-decode-leader:28000", "http://r1-prefill-leader:28000"),
     {"pd-role-mismatch"}),
    ("router-url-no-such-service", lambda d: replace_arg(router_args(d), "http://r1-decode-leader:28000", "http://r1-decode:28000"),
     {"router-url-unverifiable"}),
    # the env var differs (env-drift) and so does the device list NCCL uses (rdma-devices-rank-drift)
    ("decode-worker-ib-devices-differ-from-leader", worker_ib_devices_differ, {"env-drift", "rdma-devices-rank-drift"}),
    ("worker-without-a-leader-env-var", lambda d: separate_identical_leader(d) or drop_env(engine(d, "decode"), "SGLANG_SET_CPU_AFFINITY"),
     {"env-drift"}),
    ("worker-dist-init-port", worker_dist_init_port, {"dist-init-addr-rank-mismatch"}),
    ("service-selects-workers", lambda d: service(d, "r1-decode-leader")["spec"]["selector"].pop("leaderworkerset.sigs.k8s.io/worker-index"),
     {"router-url-target"}),
    ("service-selects-the-role-of-a-plain-lws", lambda d: select(d, "r1-decode-leader", {
        "leaderworkerset.sigs.k8s.io/name": "r1-decode", "leaderworkerset.sigs.k8s.io/worker-index": "0"}), {"router-url-target"}),
    ("group-size-not-nnodes-x-gpus", lambda d: role(d, "decode")["spec"]["leaderWorkerTemplate"].update(size=4), {"tp-gpu-mismatch"}),
    ("two-decode-groups-behind-one-url", lambda d: role(d, "decode")["spec"].update(replicas=2), {"router-static-multi-replica-decode"}),
    ("unknown-field-in-a-role", lambda d: template(d, "decode")["spec"].update(containerz=[]), {"schema-invalid"}),
    # near misses: what the controller really does keeps these clean
    ("near-miss-select-by-app-label", lambda d: select(d, "r1-decode-leader", {
        "app": "r1-0-decode", "leaderworkerset.sigs.k8s.io/worker-index": "0"}), set()),
    ("near-miss-identical-leader-template", separate_identical_leader, set()),
    ("near-miss-two-slices", lambda d: d[0]["spec"].update(slices=2), set()),
    ("near-miss-ignore-annotation-on-the-set", lambda d: d[0]["metadata"].update(annotations={"pdcheck.io/ignore": "env-drift, rdma-devices-rank-drift"})
     or worker_ib_devices_differ(d), set()),
    ("near-miss-ignore-annotation-on-the-role", lambda d: role(d, "decode").update(metadata={"annotations": {"pdcheck.io/ignore": "env-drift, rdma-devices-rank-drift"}})
     or worker_ib_devices_differ(d), set()),
    ("ignore-annotation-on-the-other-role", lambda d: role(d, "prefill").update(metadata={"annotations": {"pdcheck.io/ignore": "env-drift"}})
     or worker_ib_devices_differ(d), {"env-drift", "rdma-devices-rank-drift"}),
    ("near-miss-role-metadata-labels", lambda d: role(d, "decode").update(metadata={"labels": {"tier": "decode"}}), set()),
]

test_fixture_is_clean, test_defect_fires_its_rule_only = defect_tests(CASES, FIXTURE)


def test_fixture_is_the_baseline_as_a_disaggregatedset():
    """Roles carry baseline.yaml's LWS specs; everything else is baseline.yaml's, the leader Services
    selecting the role by the DisaggregatedSet's labels instead of the LWS name."""
    plain, wrapped = baseline(), docs()
    lws = {d["metadata"]["name"]: d for d in plain if d["kind"] == "LeaderWorkerSet"}
    assert {r["name"]: r["spec"] for r in wrapped[0]["spec"]["roles"]} == {
        role: lws[f"r1-{role}"]["spec"] for role in ("prefill", "decode")}
    others = [d for d in plain if d["kind"] != "LeaderWorkerSet"]
    for d in others:
        if d["kind"] == "Service" and d["metadata"]["name"] in ("r1-prefill-leader", "r1-decode-leader"):
            role = d["spec"]["selector"].pop("leaderworkerset.sigs.k8s.io/name").removeprefix("r1-")
            d["spec"]["selector"].update({dsa.NAME_LABEL: "r1", dsa.ROLE_LABEL: role})
    assert wrapped[1:] == others


def model_of(d):
    objects, non_objects = objects_from_stream(yaml.safe_dump_all(d, sort_keys=False), "ds.yaml", None)
    return build_model(Render("ds.yaml", "file", objects, non_objects))


def test_each_role_is_the_leaderworkerset_the_controller_creates():
    d = docs()
    d[0]["metadata"]["namespace"] = "serving"
    role(d, "decode")["metadata"] = {"labels": {"tier": "decode", "app": "mine"}, "annotations": {"note": "x"}}
    model = model_of(d)
    by_name = {w.name: w for w in model.workloads if w.is_lws}
    assert set(by_name) == {"r1-0-revision-prefill", "r1-0-revision-decode"}
    decode = by_name["r1-0-revision-decode"]
    assert decode.obj.namespace == "serving"
    assert decode.obj.labels == {**dsa.system_labels("r1", "decode"), "tier": "decode"}  # system labels win
    assert decode.obj.annotations == {"note": "x"}
    assert (decode.size, decode.replicas, decode.role) == (2, 1, "decode")
    leader, worker = decode.pods
    assert leader.labels["disaggregatedset.x-k8s.io/role"] == "decode"
    assert leader.labels["app"] == "r1-0-decode"
    assert leader.labels["app.kubernetes.io/component"] == "decode"  # the user's template labels stay
    assert leader.labels["leaderworkerset.sigs.k8s.io/worker-index"] == "0"
    assert worker.engine.env_value("LWS_LEADER_ADDRESS") == "r1-0-revision-decode-0.r1-0-revision-decode.serving"
    assert worker.engine.env_value("LWS_WORKER_INDEX") == "1"
    assert "r1-0-revision-decode-0.r1-0-revision-decode.serving:20102" in worker.engine.argv


def test_the_fixture_is_not_changed_by_modelling():
    d = docs()
    before = copy.deepcopy(d)
    objects, _ = objects_from_stream(yaml.safe_dump_all(d, sort_keys=False), "ds.yaml", None)
    render = Render("ds.yaml", "file", objects, [])
    snapshot = copy.deepcopy([o.doc for o in objects])
    build_model(render)
    assert [o.doc for o in objects] == snapshot
    assert d == before


def test_malformed_roles_are_skipped_not_crashed_on():
    d = docs()
    d[0]["spec"]["roles"] = [None, {"name": "x"}, {"name": 3, "spec": {}}, {"name": "y", "spec": {"leaderWorkerTemplate": []}},
                             role(d, "prefill")]
    names = [w.name for w in model_of(d).workloads if w.is_lws]
    assert names == ["r1-0-revision-y", "r1-0-revision-prefill"]
    d[0]["spec"] = {"roles": "prefill"}
    assert [w for w in model_of(d).workloads if w.is_lws] == []


def test_findings_point_at_the_role_in_the_file(tmp_path):
    d = docs()
    role(d, "decode")["spec"]["leaderWorkerTemplate"]["size"] = 4
    path = tmp_path / "ds.yaml"
    path.write_text(yaml.safe_dump_all(d, sort_keys=False))
    findings = run(Options(paths=[str(path)], no_cache=True)).findings
    [f] = findings
    assert (f.rule, f.object) == ("tp-gpu-mismatch", "DisaggregatedSet/r1")
    assert f.path_text == "spec.roles[1].spec.leaderWorkerTemplate.workerTemplate.spec.containers[0].args[19]"
    lines = path.read_text().splitlines()
    decode_at = lines.index("  - name: decode")
    expected = next(i for i, line in enumerate(lines) if i > decode_at and line.strip() == "- --tp-size") + 1  # 1-based: the flag
    assert f.file == str(path) and f.line == expected


def test_effective_pods_match_the_same_deployment_as_two_leaderworkersets():
    """`render --effective` shows DisaggregatedSet ranks like LWS ranks: same fields, same argv and env
    up to the LWS names (r1-prefill -> r1-0-revision-prefill)."""
    def effective(name):
        objects, _ = objects_from_stream((FIXTURES / name).read_text(), name, None)
        return [doc for doc in effective_documents(build_model(Render(name, "file", objects, [])))
                if doc["role"] in ("prefill", "decode")]

    plain, wrapped = effective("baseline.yaml"), effective(FIXTURE)
    assert len(plain) == len(wrapped) == 4
    for p, w in zip(plain, wrapped):
        assert p.keys() == w.keys()
        rename = {f"r1-{role}": f"r1-0-revision-{role}" for role in ("prefill", "decode")}

        def renamed(value: str) -> str:
            for old, new in rename.items():
                value = value.replace(old, new)
            return value

        assert (w["role"], w["rank"], w["pod"]) == (p["role"], p["rank"], renamed(p["pod"]))
        assert w["argv"] == [renamed(a) for a in p["argv"]]
        assert w["env"] == {k: renamed(v) for k, v in p["env"].items()}
        assert w["object"] == f"DisaggregatedSet/r1 role {p['role']} (LeaderWorkerSet r1-0-revision-{p['role']})"


def test_render_effective_cli_models_the_roles():
    models = build_models(Options(paths=[str(FIXTURES / FIXTURE)], no_cache=True))
    [model] = models
    assert sorted(w.role for w in model.workloads if w.is_lws) == ["decode", "prefill"]


# --- schema -----------------------------------------------------------------------------------

SCHEMA_DEFECTS = [
    # (id, mutation, path of the issue)
    ("one-role", lambda ds: ds["spec"].update(roles=ds["spec"]["roles"][:1]), ("spec", "roles")),
    ("slices-over-100", lambda ds: ds["spec"].update(slices=101), ("spec", "slices")),
    ("role-name-upper-case", lambda ds: ds["spec"]["roles"][0].update(name="Prefill"), ("spec", "roles", 0, "name")),
    ("unknown-placement", lambda ds: ds["spec"].update(placementPolicy={"type": "Rack"}), ("spec", "placementPolicy", "type")),
    ("unknown-scaling-mode", lambda ds: ds["spec"]["roles"][0].update(scaling={"mode": "Auto"}), ("spec", "roles", 0, "scaling", "mode")),
    ("role-metadata-unknown-field", lambda ds: ds["spec"]["roles"][0].update(metadata={"labelz": {}}),
     ("spec", "roles", 0, "metadata", "labelz")),
    ("lws-field-in-role", lambda ds: ds["spec"]["roles"][0]["spec"]["leaderWorkerTemplate"].update(restartPolicy="Always"),
     ("spec", "roles", 0, "spec", "leaderWorkerTemplate", "restartPolicy")),
    ("pod-field-in-role", lambda ds: ds["spec"]["roles"][1]["spec"]["leaderWorkerTemplate"]["workerTemplate"]["spec"].update(hostNetwerk=True),
     ("spec", "roles", 1, "spec", "leaderWorkerTemplate", "workerTemplate", "spec", "hostNetwerk")),
    ("no-roles", lambda ds: ds.update(spec={}), ("spec",)),
]


@pytest.fixture(scope="module")
def bundled():
    return SchemaValidator()


@pytest.fixture(scope="module")
def upstream():
    return SchemaValidator(crd_files=[ds_crd()])


def the_set() -> dict:
    return docs()[0]


def test_fixture_valid_for_bundled_schema_and_upstream_crd(bundled, upstream):
    assert bundled.validate(the_set()) == []
    assert upstream.validate(the_set()) == []


@pytest.mark.parametrize("mutate, path", [c[1:] for c in SCHEMA_DEFECTS], ids=[c[0] for c in SCHEMA_DEFECTS])
def test_defect_rejected_by_bundled_schema_and_upstream_crd(bundled, upstream, mutate, path):
    ds = the_set()
    mutate(ds)
    for validator in (bundled, upstream):
        issues = validator.validate(ds)
        assert [i.path for i in issues if i.kind == "invalid"][:1] == [path], (validator, issues)


def crd_version_schema() -> dict:
    crd = yaml.safe_load(ds_crd().read_text())
    [version] = crd["spec"]["versions"]
    return version["schema"]["openAPIV3Schema"]


def bundled_schema() -> dict:
    from pdcheck.schema.validator import _load_project_schema

    return _load_project_schema("disaggregatedset-v1.json")


def fields(node: dict) -> set[str]:
    return set(node.get("properties", {}))


def resolve(schema: dict, node: dict) -> dict:
    while "$ref" in node and node["$ref"].startswith("#/$defs/"):
        node = schema["$defs"][node["$ref"].rsplit("/", 1)[1]]
    return node


def test_bundled_schema_has_the_fields_of_the_crd():
    """Every object level the bundled schema writes out has exactly the CRD's fields."""
    crd, ours = crd_version_schema(), bundled_schema()

    def pair(*path):
        c, o = crd, ours
        for key in path:
            c = c["items"] if key == "[]" else c["properties"][key]
            o = resolve(ours, o["items"] if key == "[]" else resolve(ours, o)["properties"][key])
        return c, resolve(ours, o)

    for path in [(), ("spec",), ("spec", "placementPolicy"), ("spec", "roles", "[]"), ("spec", "roles", "[]", "metadata"),
                 ("spec", "roles", "[]", "scaling"), ("spec", "roles", "[]", "spec"),
                 ("spec", "roles", "[]", "spec", "leaderWorkerTemplate"), ("spec", "roles", "[]", "spec", "rolloutStrategy"),
                 ("status",), ("status", "roleStatuses", "[]")]:
        c, o = pair(*path)
        assert fields(o) == fields(c), path
        assert set(o.get("required", [])) - {"apiVersion", "kind"} == set(c.get("required", [])), path
        for name, prop in c.get("properties", {}).items():
            if "enum" in prop:
                assert resolve(ours, o["properties"][name]).get("enum") == prop["enum"], (path, name)


def test_vllm_roles_get_no_sglang_finding():
    d = docs()
    for name in ("prefill", "decode"):
        c = engine(d, name)
        c.update(image="vllm/vllm-openai:v0.11.0", command=["vllm", "serve", "/models/DeepSeek-R1-0528"],
                 args=["--tensor-parallel-size", "16"])
    d = [x for x in d if x["kind"] == "DisaggregatedSet"]  # no router: it would route to the vLLM leaders
    assert rules_fired(d) == set()
    assert model_of(d).engines_by_role("prefill") == []
