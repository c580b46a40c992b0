"""Network rules: each case is one defect applied to the clean baseline, and the rules it fires."""

import copy


from pdcheck.config import Config
from ruletest import baseline, defect_tests, drop_flag, engine, find, lws, pod_spec, rules_fired, run_rules, set_flag


def split_leader(docs, name):
    """Give an LWS its own leaderTemplate (a copy of the worker template); return the worker's engine."""
    lwt = lws(docs, name)["spec"]["leaderWorkerTemplate"]
    lwt["leaderTemplate"] = copy.deepcopy(lwt["workerTemplate"])
    return engine(docs, name)


def annotate(docs, name, key, value):
    lws(docs, name)["spec"]["leaderWorkerTemplate"]["workerTemplate"]["metadata"].setdefault("annotations", {})[key] = value


def co_locatable(docs):
    """Nodes of 16 GPUs, and decode no longer declares its containerPort: P and D may share a node."""
    for name in ("r1-prefill", "r1-decode"):
        annotate(docs, name, "pdcheck.io/gpus-per-node", "16")
    del engine(docs, "r1-decode")["ports"]


def single_node_prefill(docs, port):
    c = engine(docs, "r1-prefill")
    lws(docs, "r1-prefill")["spec"]["leaderWorkerTemplate"]["size"] = 1
    for flag in ("--dist-init-addr", "--nnodes", "--node-rank"):
        drop_flag(c, flag)
    set_flag(c, "--tp-size", "8")
    set_flag(c, "--dp-size", "8")
    set_flag(c, "--port", port)


def move_bootstrap(docs, port):
    """Move prefill's bootstrap port everywhere it is named (flags, annotation, Service, router)."""
    for name in ("r1-prefill", "r1-decode"):
        set_flag(engine(docs, name), "--disaggregation-bootstrap-port", port)
    annotate(docs, "r1-prefill", "sglang.ai/bootstrap-port", port)
    for p in engine(docs, "r1-prefill")["ports"] + find(docs, "Service", "r1-prefill-leader")["spec"]["ports"]:
        if p["name"] == "bootstrap":
            p.update({k: int(port) for k in ("containerPort", "port", "targetPort") if k in p})
    args = engine(docs, "r1-router")["args"]
    args[args.index("8998")] = port


def nccl_overlap(docs):
    single_node_prefill(docs, "28000")
    move_bootstrap(docs, "28500")


def move_http_port(docs, port):
    """Move the engines' HTTP port (28000 in the baseline) everywhere it is named."""
    def walk(node):
        if isinstance(node, dict):
            return {k: walk(v) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v) for v in node]
        if node == 28000:
            return int(port)
        return node.replace("28000", port) if isinstance(node, str) else node
    docs[:] = [walk(d) for d in docs]


def pod_network(docs):
    for name in ("r1-prefill", "r1-decode"):
        for key in ("dnsPolicy", "hostNetwork"):
            pod_spec(docs, name).pop(key)


CASES = [
    # (case id, mutation, rules that must fire and nothing else)
    ("host-loopback", lambda d: set_flag(engine(d, "r1-prefill"), "--host", "127.0.0.1"), {"engine-host-loopback"}),
    ("host-default", lambda d: drop_flag(engine(d, "r1-decode"), "--host"), {"engine-host-loopback"}),
    ("host-ipv6-any", lambda d: set_flag(engine(d, "r1-prefill"), "--host", "::"), set()),
    ("host-pod-ip", lambda d: set_flag(engine(d, "r1-prefill"), "--host", "$(POD_IP)")
     or engine(d, "r1-prefill")["env"].insert(0, {"name": "POD_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}}), set()),
    ("bootstrap-worker-port", lambda d: set_flag(split_leader(d, "r1-prefill"), "--disaggregation-bootstrap-port", "9000"),
     {"bootstrap-port-rank-mismatch"}),
    ("bootstrap-same-split", lambda d: split_leader(d, "r1-prefill"), set()),
    ("bootstrap-decode-differs", lambda d: set_flag(split_leader(d, "r1-decode"), "--disaggregation-bootstrap-port", "9000"), set()),
    ("dist-init-worker-port", lambda d: set_flag(split_leader(d, "r1-decode"), "--dist-init-addr", "$(LWS_LEADER_ADDRESS):20103"),
     {"dist-init-addr-rank-mismatch"}),
    ("dnspolicy-missing", lambda d: pod_spec(d, "r1-prefill").pop("dnsPolicy"), {"hostnetwork-dns-policy"}),
    ("dnspolicy-default", lambda d: pod_spec(d, "r1-decode").update({"dnsPolicy": "Default"}), {"hostnetwork-dns-policy"}),
    ("dnspolicy-pod-network", lambda d: [pod_spec(d, "r1-prefill").pop(k) for k in ("dnsPolicy", "hostNetwork")], set()),
    ("port-in-dist-init-range", lambda d: set_flag(engine(d, "r1-decode"), "--dist-init-addr", "$(LWS_LEADER_ADDRESS):27999"),
     {"engine-port-conflict"}),
    ("dist-init-range-clear", lambda d: set_flag(engine(d, "r1-decode"), "--dist-init-addr", "$(LWS_LEADER_ADDRESS):27994"), set()),
    ("hostnet-clash", co_locatable, {"hostnetwork-port-clash"}),
    ("hostnet-common-hostport", lambda d: [annotate(d, n, "pdcheck.io/gpus-per-node", "16") for n in ("r1-prefill", "r1-decode")], set()),
    ("hostnet-anti-affinity", lambda d: co_locatable(d) or pod_spec(d, "r1-decode").update({"affinity": {"podAntiAffinity": {
        "requiredDuringSchedulingIgnoredDuringExecution": [{"topologyKey": "kubernetes.io/hostname", "labelSelector": {
            "matchLabels": {"app.kubernetes.io/name": "sglang"}}}]}}}), set()),
    ("nccl-range-bootstrap", nccl_overlap, {"nccl-port-range-overlap"}),
    ("nccl-port-fixed", lambda d: nccl_overlap(d) or set_flag(engine(d, "r1-prefill"), "--nccl-port", "27500"), set()),
    ("bootstrap-moved", lambda d: move_bootstrap(d, "28500"), set()),
    ("http-port-in-nodeport-range", lambda d: move_http_port(d, "30000"), {"hostnetwork-port-in-nodeport-range"}),
    ("http-port-below-nodeport-range", lambda d: move_http_port(d, "29999"), set()),
    ("nodeport-range-on-pod-network", lambda d: move_http_port(d, "30000") or pod_network(d), set()),
    ("bootstrap-in-nodeport-range", lambda d: move_bootstrap(d, "32767"), {"hostnetwork-port-in-nodeport-range"}),
    # DP attention: the leader also binds dist-init + 1..5 and + 13 (29990 + 13 = 30003).
    ("dist-init-derived-in-nodeport-range", lambda d: set_flag(engine(d, "r1-decode"), "--dist-init-addr", "$(LWS_LEADER_ADDRESS):29990"),
     {"hostnetwork-port-in-nodeport-range"}),
    ("dist-init-derived-below-nodeport-range", lambda d: set_flag(engine(d, "r1-decode"), "--dist-init-addr", "$(LWS_LEADER_ADDRESS):29986"), set()),
    # Without --dist-init-addr SGLang binds a random NCCL port in --port + 100..1000 (29000 + 1000 = 30000).
    ("nccl-range-in-nodeport-range", lambda d: single_node_prefill(d, "28000") or move_http_port(d, "29000"),
     {"hostnetwork-port-in-nodeport-range"}),
    ("nccl-range-below-nodeport-range", lambda d: single_node_prefill(d, "28000") or move_http_port(d, "28999"), set()),
]


test_baseline_is_clean, test_defect_fires_its_rule_only = defect_tests(CASES)


def test_nodeport_range_comes_from_the_configuration():
    docs = baseline()
    move_http_port(docs, "30000")
    assert "hostnetwork-port-in-nodeport-range" not in rules_fired(docs, config=Config(node_port_range=(31000, 31999)))
    docs = baseline()
    move_http_port(docs, "31999")
    findings = [f for f in run_rules(docs, config=Config(node_port_range=(31000, 31999)))
                if f.rule == "hostnetwork-port-in-nodeport-range"]
    assert sorted(f.object for f in findings) == ["LeaderWorkerSet/r1-decode", "LeaderWorkerSet/r1-prefill"]
    assert all("binds 31999 (--port" in f.message and "31000-31999" in f.message for f in findings)


def test_nodeport_range_finding_names_every_derived_port_once():
    docs = baseline()
    set_flag(engine(docs, "r1-decode"), "--dist-init-addr", "$(LWS_LEADER_ADDRESS):30000")
    (finding,) = [f for f in run_rules(docs) if f.rule == "hostnetwork-port-in-nodeport-range"]
    assert finding.object == "LeaderWorkerSet/r1-decode"
    args = engine(docs, "r1-decode")["args"]
    assert finding.path[-2:] == ("args", args.index("--dist-init-addr"))
    for port in ("30000", "30001", "30005", "30013"):
        assert port in finding.message
