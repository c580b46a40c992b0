"""Labels controllers add to pods (issue #11 item 5), the DNS names a hostNetwork pod must resolve
(item 6) and node ranks of StatefulSet-run engines (item 7), on tests/fixtures/statefulset.yaml (a
clean two-node engine run as a StatefulSet) and the LWS baseline."""

import pytest
import yaml

from pdcheck.checker import Context, Options, check_render, enabled_rules
from pdcheck.config import Config
from pdcheck.model import build_model
from pdcheck.objects import Render
from pdcheck.render import objects_from_stream
from pdcheck.rules._router import resolve_host, service_target
from ruletest import baseline, engine, find, pod_spec, rules_fired, run_rules, set_flag

FLOOR_128 = ("1.28", "1.37")
FLOOR_127 = ("1.27", "1.37")
_CONTEXTS: dict = {}


def check(docs, k8s=FLOOR_128):
    """Findings with the given Kubernetes versions checked (the oldest is the floor)."""
    ctx = _CONTEXTS.setdefault(k8s, Context(Config(), list(k8s), []))
    objects, non_objects = objects_from_stream(yaml.safe_dump_all(docs, sort_keys=False), "test.yaml", None)
    found, _ = check_render(Render("test.yaml", "file", objects, non_objects), ctx, Options(paths=[]),
                            enabled_rules(ctx.config))
    return found


def fired(docs, k8s=FLOOR_128):
    return {f.rule for f in check(docs, k8s)}


def sts_docs():
    return baseline("statefulset.yaml")


def sts(docs):
    return find(docs, "StatefulSet", "sglang")


def sts_engine(docs):
    return sts(docs)["spec"]["template"]["spec"]["containers"][0]


def model_of(docs):
    objects, non_objects = objects_from_stream(yaml.safe_dump_all(docs, sort_keys=False), "test.yaml", None)
    return build_model(Render("test.yaml", "file", objects, non_objects))


# --- the model: labels and ranks ------------------------------------------------------------------


def test_statefulset_pods_carry_their_name_and_index():
    model = model_of(sts_docs())
    (wl,) = [w for w in model.workloads if w.kind == "StatefulSet"]
    assert [p.name for p in wl.pods] == ["sglang-0", "sglang-1"]
    assert [p.labels["apps.kubernetes.io/pod-index"] for p in wl.pods] == ["0", "1"]
    assert [p.labels["statefulset.kubernetes.io/pod-name"] for p in wl.pods] == ["sglang-0", "sglang-1"]
    # --node-rank $(NODE_RANK), NODE_RANK from the pod-index label: each pod its own rank
    assert [p.engine.flag("--node-rank").value for p in wl.pods] == [0, 1]


def test_ordinals_start_names_the_pods():
    docs = sts_docs()
    sts(docs)["spec"]["ordinals"] = {"start": 1}
    (wl,) = [w for w in model_of(docs).workloads if w.kind == "StatefulSet"]
    assert [p.name for p in wl.pods] == ["sglang-1", "sglang-2"]
    assert [p.engine.flag("--node-rank").value for p in wl.pods] == [1, 2]


def test_lws_pods_carry_statefulset_labels():
    model = model_of(baseline())
    wl = next(w for w in model.workloads if w.name == "r1-prefill")
    leader, worker = wl.pods
    assert leader.labels["statefulset.kubernetes.io/pod-name"] == "r1-prefill-0"
    assert leader.labels["apps.kubernetes.io/pod-index"] == "0"  # the group index in the leader StatefulSet
    assert worker.labels["statefulset.kubernetes.io/pod-name"] == "r1-prefill-0-1"
    assert worker.labels["apps.kubernetes.io/pod-index"] == "1"  # worker StatefulSets count from 1


def test_services_select_statefulset_pods_by_injected_labels():
    model = model_of(sts_docs())
    api = find(sts_docs(), "Service", "sglang-api")
    svc = next(o for o in model.render.objects if o.kind == "Service" and o.name == "sglang-api")
    assert api["spec"]["selector"]["apps.kubernetes.io/pod-index"] == "0"
    assert [p.name for p in service_target(model, svc).pods] == ["sglang-0"]
    target = resolve_host(model, "sglang-1.sglang-nodes", None)
    assert target is not None and [p.name for p in target.pods] == ["sglang-1"]


def test_pod_template_hash_is_unknown_not_unmatched():
    docs = baseline()
    svc = find(docs, "Service", "r1-router")
    svc["spec"]["selector"]["pod-template-hash"] = "5d8f7c9b4"
    model = model_of(docs)
    obj = next(o for o in model.render.objects if o.kind == "Service" and o.name == "r1-router")
    target = service_target(model, obj)
    assert target.pods == [] and target.maybe_more
    del svc["spec"]["selector"]["pod-template-hash"]
    target = service_target(model_of(docs), next(o for o in model_of(docs).render.objects if o.kind == "Service" and o.name == "r1-router"))
    assert target.pods and not target.maybe_more


# --- rules on the StatefulSet fixture ------------------------------------------------------------


def nodeport(docs):
    find(docs, "Service", "sglang-api")["spec"]["type"] = "NodePort"


def select_pod(docs, index):
    find(docs, "Service", "sglang-api")["spec"]["selector"]["apps.kubernetes.io/pod-index"] = index


def by_pod_name(docs):
    selector = find(docs, "Service", "sglang-api")["spec"]["selector"]
    del selector["apps.kubernetes.io/pod-index"]
    selector["statefulset.kubernetes.io/pod-name"] = "sglang-0"


def no_dns_policy(docs):
    del sts(docs)["spec"]["template"]["spec"]["dnsPolicy"]


STS_CASES = [
    # (case id, mutation, Kubernetes versions checked, rules that must fire and nothing else)
    ("clean", lambda d: None, FLOOR_128, set()),
    ("pod-index-before-1.28", lambda d: None, FLOOR_127, {"pod-index-label-unavailable"}),
    # exposure sees the pod a Service picks by an injected label
    ("nodeport-pod-index", nodeport, FLOOR_128, {"exposed-without-auth"}),
    ("nodeport-pod-name", lambda d: (nodeport(d), by_pod_name(d)), FLOOR_128, {"exposed-without-auth"}),
    ("nodeport-no-such-pod-near-miss", lambda d: (nodeport(d), select_pod(d, "7")), FLOOR_128, set()),
    ("nodeport-api-key-near-miss", lambda d: (nodeport(d), set_flag(sts_engine(d), "--api-key", "$(KEY)"),
                                              sts_engine(d)["env"].append({"name": "KEY", "valueFrom": {"secretKeyRef": {"name": "k", "key": "k"}}})),
     FLOOR_128, set()),
    # hostNetwork DNS: --dist-init-addr names pod 0 through the headless Service
    ("dns-dist-init-pod-name", no_dns_policy, FLOOR_128, {"hostnetwork-dns-policy"}),
    ("dns-dist-init-svc-fqdn", lambda d: (no_dns_policy(d), set_flag(sts_engine(d), "--dist-init-addr", "sglang-0.sglang-nodes.ml.svc.cluster.local:20000")),
     FLOOR_128, {"hostnetwork-dns-policy"}),
    ("dns-dist-init-ip-near-miss", lambda d: (no_dns_policy(d), set_flag(sts_engine(d), "--dist-init-addr", "10.0.0.5:20000")), FLOOR_128, set()),
    ("dns-dist-init-node-name-near-miss", lambda d: (no_dns_policy(d), set_flag(sts_engine(d), "--dist-init-addr", "gpu-node-1.example.com:20000")),
     FLOOR_128, set()),
    # node ranks
    ("literal-node-rank", lambda d: set_flag(sts_engine(d), "--node-rank", "0"), FLOOR_128, {"node-rank-collision"}),
    ("no-node-rank", lambda d: sts_engine(d)["args"].__delitem__(slice(10, 12)), FLOOR_128, {"node-rank-collision"}),
    ("single-node-replicas-near-miss", lambda d: (set_flag(sts_engine(d), "--nnodes", "1"), set_flag(sts_engine(d), "--tp-size", "8"),
                                                  sts_engine(d)["args"].__delitem__(slice(10, 14))), FLOOR_128, set()),
]


@pytest.mark.parametrize("mutate, k8s, expected", [c[1:] for c in STS_CASES], ids=[c[0] for c in STS_CASES])
def test_statefulset_case(mutate, k8s, expected):
    docs = sts_docs()
    mutate(docs)
    assert fired(docs, k8s) == expected


def test_no_node_rank_case_drops_exactly_the_flag():
    args = sts_docs()[2]["spec"]["template"]["spec"]["containers"][0]["args"]
    assert args[10:12] == ["--node-rank", "$(NODE_RANK)"] and args[12] == "--dist-init-addr"


def test_pod_index_findings_name_the_floor_and_the_place():
    found = [f for f in check(sts_docs(), FLOOR_127) if f.rule == "pod-index-label-unavailable"]
    assert {(f.object, f.path_text) for f in found} == {
        ("Service/sglang-api", "spec.selector.apps.kubernetes.io/pod-index"),
        ("StatefulSet/sglang", "spec.template.spec.containers[0].env[0].valueFrom.fieldRef.fieldPath"),
    }
    assert all("1.27" in f.message and "1.28" in f.message for f in found)


def test_pod_name_selector_is_fine_before_1_28():
    docs = sts_docs()
    by_pod_name(docs)
    assert {(f.rule, f.object) for f in check(docs, FLOOR_127)} == {("pod-index-label-unavailable", "StatefulSet/sglang")}


# --- hostNetwork DNS on the LWS baseline ---------------------------------------------------------


def single_node_decode(d):
    """Decode on one node: no --dist-init-addr, so only the router's bootstrap host needs DNS."""
    from ruletest import drop_flag, lws

    c = engine(d, "r1-decode")
    lws(d, "r1-decode")["spec"]["leaderWorkerTemplate"]["size"] = 1
    for flag in ("--dist-init-addr", "--nnodes", "--node-rank"):
        drop_flag(c, flag)
    for flag, value in (("--tp-size", "8"), ("--dp-size", "8"), ("--max-running-requests", "1024"), ("--cuda-graph-max-bs", "128")):
        set_flag(c, flag, value)
    del pod_spec(d, "r1-decode")["dnsPolicy"]


def router_on_host_network(d):
    pod_spec(d, "r1-router")["hostNetwork"] = True


def prefill_url(d, url):
    args = engine(d, "r1-router")["args"]
    args[args.index("http://r1-prefill-leader:30000")] = url


def test_single_node_decode_on_host_network_still_resolves_the_bootstrap_host():
    docs = baseline()
    single_node_decode(docs)
    found = [f for f in run_rules(docs) if f.rule == "hostnetwork-dns-policy"]
    assert len(found) == 1 and "r1-prefill-leader" in found[0].message and "bootstrap" in found[0].message


def test_bootstrap_host_near_miss_with_dns_policy():
    docs = baseline()
    single_node_decode(docs)
    pod_spec(docs, "r1-decode")["dnsPolicy"] = "ClusterFirstWithHostNet"
    assert "hostnetwork-dns-policy" not in rules_fired(docs)


def test_router_on_host_network_needs_cluster_dns_for_its_urls():
    docs = baseline()
    router_on_host_network(docs)
    found = [f for f in run_rules(docs) if f.rule == "hostnetwork-dns-policy"]
    assert len(found) == 1 and found[0].object == "Deployment/r1-router" and "r1-prefill-leader" in found[0].message
    pod_spec(docs, "r1-router")["dnsPolicy"] = "ClusterFirstWithHostNet"
    assert "hostnetwork-dns-policy" not in rules_fired(docs)


def test_lws_subgroups_label_their_pods():
    from ruletest import lws

    docs = baseline()
    lwt = lws(docs, "r1-prefill")["spec"]["leaderWorkerTemplate"]
    lwt["size"] = 4
    lwt["subGroupPolicy"] = {"subGroupSize": 2}
    wl = next(w for w in model_of(docs).workloads if w.name == "r1-prefill")
    # size 4, subgroups of 2: leader + worker 1 in subgroup 0, workers 2 and 3 in subgroup 1
    assert [p.labels["leaderworkerset.sigs.k8s.io/subgroup-index"] for p in wl.pods] == ["0", "0", "1", "1"]
