"""Network rules: each case is one defect applied to the clean baseline, and the rules it fires."""

import copy


from ruletest import defect_tests, drop_flag, engine, find, lws, pod_spec, set_flag


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
    single_node_prefill(docs, "30000")
    move_bootstrap(docs, "30500")


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
    ("port-in-dist-init-range", lambda d: set_flag(engine(d, "r1-decode"), "--dist-init-addr", "$(LWS_LEADER_ADDRESS):29999"),
     {"engine-port-conflict"}),
    ("dist-init-range-clear", lambda d: set_flag(engine(d, "r1-decode"), "--dist-init-addr", "$(LWS_LEADER_ADDRESS):29994"), set()),
    ("hostnet-clash", co_locatable, {"hostnetwork-port-clash"}),
    ("hostnet-common-hostport", lambda d: [annotate(d, n, "pdcheck.io/gpus-per-node", "16") for n in ("r1-prefill", "r1-decode")], set()),
    ("hostnet-anti-affinity", lambda d: co_locatable(d) or pod_spec(d, "r1-decode").update({"affinity": {"podAntiAffinity": {
        "requiredDuringSchedulingIgnoredDuringExecution": [{"topologyKey": "kubernetes.io/hostname", "labelSelector": {
            "matchLabels": {"app.kubernetes.io/name": "sglang"}}}]}}}), set()),
    ("nccl-range-bootstrap", nccl_overlap, {"nccl-port-range-overlap"}),
    ("nccl-port-fixed", lambda d: nccl_overlap(d) or set_flag(engine(d, "r1-prefill"), "--nccl-port", "31500"), set()),
    ("bootstrap-moved", lambda d: move_bootstrap(d, "30500"), set()),
]


test_baseline_is_clean, test_defect_fires_its_rule_only = defect_tests(CASES)
