"""Router rules: each case is one defect (or near miss) applied to the clean baseline, and the rules it fires."""

import copy

from ruletest import defect_tests, baseline, engine, find, lws, pod_spec, rules_fired, set_flag

ROUTER = "r1-router"


def router_args(d):
    return engine(d, ROUTER)["args"]


def replace_arg(d, old, new):
    args = router_args(d)
    args[args.index(old)] = new


def svc(d, name):
    return find(d, "Service", name)


def drop_bootstrap_token(d):
    args = router_args(d)
    del args[args.index("http://r1-prefill-leader:28000") + 1]


# An object of a kind without an adapter whose controller starts a decode engine.
OPERATOR_DECODE = {"apiVersion": "example.com/v1", "kind": "Server", "metadata": {"name": "decoder"},
                   "spec": {"command": ["python3", "-m", "sglang.launch_server", "--disaggregation-mode", "decode"]}}


def discovery(d, extra=(), rbac=True, selectors=True):
    """Turn the router into a service-discovery router (the qwen3-roce-sd wiring)."""
    c = engine(d, ROUTER)
    c["args"] = ["--pd-disaggregation", "--service-discovery", "--service-discovery-port", "28000",
                 "--service-discovery-namespace", "default"]
    if selectors:
        c["args"] += ["--prefill-selector", "app.kubernetes.io/component=prefill", "leaderworkerset.sigs.k8s.io/worker-index=0",
                      "--decode-selector", "app.kubernetes.io/component=decode", "leaderworkerset.sigs.k8s.io/worker-index=0"]
    c["args"] += ["--host", "0.0.0.0", "--port", "8000", *extra]
    pod_spec(d, ROUTER)["serviceAccountName"] = "r1-router"
    if rbac:
        d += [
            {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "r1-router"}},
            {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": {"name": "r1-router"},
             "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "watch"]}]},
            {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": {"name": "r1-router"},
             "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "r1-router"},
             "subjects": [{"kind": "ServiceAccount", "name": "r1-router"}]},
        ]


def annotations(d):
    return lws(d, "r1-prefill")["spec"]["leaderWorkerTemplate"]["workerTemplate"]["metadata"]["annotations"]


def second_prefill(d, annotation):
    """Another prefill LWS the discovery selector also picks, its template annotated `annotation`."""
    second = copy.deepcopy(lws(d, "r1-prefill"))
    second["metadata"]["name"] = "r1-prefill-b"
    second["spec"]["leaderWorkerTemplate"]["workerTemplate"]["metadata"]["annotations"]["sglang.ai/bootstrap-port"] = annotation
    return second


def sd_args(d):
    return engine(d, ROUTER)["args"]


CASES = [
    # (case id, mutation, rules that must fire and nothing else)
    ("no-decode-url", lambda d: router_args(d).__delitem__(slice(4, 6)), {"router-pd-workers-missing"}),
    ("sd-no-decode-selector", lambda d: (discovery(d, selectors=False),
                                         sd_args(d).extend(["--prefill-selector", "app.kubernetes.io/component=prefill", "leaderworkerset.sigs.k8s.io/worker-index=0"])),
     {"router-pd-workers-missing"}),
    ("host-not-in-render", lambda d: replace_arg(d, "http://r1-decode-leader:28000", "http://10.0.0.7:28000"), {"router-url-unverifiable"}),
    ("fqdn-service-near-miss", lambda d: replace_arg(d, "http://r1-decode-leader:28000", "http://r1-decode-leader.default.svc.cluster.local:28000"), set()),
    ("service-selects-workers", lambda d: svc(d, "r1-decode-leader")["spec"]["selector"].pop("leaderworkerset.sigs.k8s.io/worker-index"),
     {"router-url-target"}),
    ("url-is-lws-headless-service", lambda d: replace_arg(d, "http://r1-decode-leader:28000", "http://r1-decode:28000"), {"router-url-target"}),
    ("leader-pod-dns-near-miss", lambda d: replace_arg(d, "http://r1-decode-leader:28000", "http://r1-decode-0.r1-decode:28000"), set()),
    ("service-selects-nothing", lambda d: svc(d, "r1-decode-leader")["spec"]["selector"].update({"leaderworkerset.sigs.k8s.io/name": "r1-decod"}),
     {"router-url-target"}),
    ("url-port-not-in-service", lambda d: replace_arg(d, "http://r1-decode-leader:28000", "http://r1-decode-leader:8000"), {"router-url-port"}),
    ("service-targetport-wrong", lambda d: svc(d, "r1-decode-leader")["spec"]["ports"][0].update({"targetPort": 30001}), {"router-url-port"}),
    ("named-targetport-near-miss", lambda d: svc(d, "r1-decode-leader")["spec"]["ports"][0].update({"port": 80, "targetPort": "http"})
     or replace_arg(d, "http://r1-decode-leader:28000", "http://r1-decode-leader"), set()),
    ("named-targetport-unknown", lambda d: svc(d, "r1-decode-leader")["spec"]["ports"][0].update({"targetPort": "api"}), {"router-url-port"}),
    ("service-named-like-lws", lambda d: svc(d, "r1-decode-leader")["metadata"].update({"name": "r1-decode"})
     or replace_arg(d, "http://r1-decode-leader:28000", "http://r1-decode:28000"), {"lws-service-name-collision"}),
    ("bootstrap-token-differs", lambda d: replace_arg(d, "8998", "9000"), {"router-bootstrap-port"}),
    ("bootstrap-omitted-near-miss", drop_bootstrap_token, set()),
    ("bootstrap-omitted-decode-differs", lambda d: (drop_bootstrap_token(d), set_flag(engine(d, "r1-decode"), "--disaggregation-bootstrap-port", "9000")),
     {"router-bootstrap-port"}),
    ("bootstrap-not-on-service", lambda d: svc(d, "r1-prefill-leader")["spec"]["ports"].pop(1), {"router-bootstrap-port"}),
    ("bootstrap-mapped-port-near-miss", lambda d: svc(d, "r1-prefill-leader")["spec"]["ports"][1].update({"port": 9000})
     or replace_arg(d, "8998", "9000"), set()),
    ("prefill-replicas", lambda d: lws(d, "r1-prefill")["spec"].update({"replicas": 2}), {"router-static-multi-replica-prefill"}),
    ("decode-replicas", lambda d: lws(d, "r1-decode")["spec"].update({"replicas": 2}), {"router-static-multi-replica-decode"}),
    ("sd-replicas-near-miss", lambda d: (discovery(d), lws(d, "r1-prefill")["spec"].update({"replicas": 2})), set()),
    ("sd-clean", discovery, set()),
    ("sd-selects-workers", lambda d: (discovery(d), sd_args(d).remove("leaderworkerset.sigs.k8s.io/worker-index=0")), {"router-sd-selector"}),
    ("sd-selects-nothing", lambda d: (discovery(d), replace_arg(d, "app.kubernetes.io/component=decode", "app.kubernetes.io/component=decoder")),
     {"router-sd-selector"}),
    # near miss: the selected pods may come from a kind pdcheck cannot model; that kind's own warning says so
    ("sd-selects-pods-of-an-unmodelled-kind", lambda d: (discovery(d), replace_arg(d, "app.kubernetes.io/component=decode", "app=decoder"),
                                                         d.append(OPERATOR_DECODE)),
     {"schema-unknown-kind", "wrapper-kind-not-checked"}),
    ("sd-port-default", lambda d: (discovery(d), sd_args(d).__delitem__(slice(2, 4))), {"router-sd-port"}),
    ("sd-port-wrong", lambda d: (discovery(d), replace_arg(d, "28000", "8000")), {"router-sd-port"}),
    ("sd-annotation-wrong", lambda d: (discovery(d), annotations(d).update({"sglang.ai/bootstrap-port": "9000"})),
     {"router-sd-bootstrap-annotation"}),
    ("sd-annotation-missing-decode-differs", lambda d: (discovery(d), annotations(d).pop("sglang.ai/bootstrap-port"),
                                                        set_flag(engine(d, "r1-decode"), "--disaggregation-bootstrap-port", "9000")),
     {"router-sd-bootstrap-annotation"}),
    ("sd-annotation-wrong-on-a-second-prefill-lws", lambda d: (discovery(d), d.append(second_prefill(d, "9000"))),
     {"router-sd-bootstrap-annotation"}),
    ("sd-second-prefill-lws-near-miss", lambda d: (discovery(d), d.append(second_prefill(d, "8998"))), set()),
    ("sd-annotation-missing-near-miss", lambda d: (discovery(d), annotations(d).pop("sglang.ai/bootstrap-port")), set()),
    ("sd-no-rbac", lambda d: (discovery(d, rbac=False), d.append({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "r1-router"}})),
     {"router-sd-rbac"}),
    ("sd-no-token", lambda d: (discovery(d), pod_spec(d, ROUTER).update({"automountServiceAccountToken": False})), {"router-sd-rbac"}),
    ("sd-all-namespaces-needs-clusterrole", lambda d: (discovery(d), sd_args(d).__delitem__(slice(4, 6))), {"router-sd-rbac"}),
    # 1800 s: the router retries for ~1620 s, the 1800 s startupProbe restarts it only after that
    ("startup-timeout-short", lambda d: set_flag(engine(d, ROUTER), "--worker-startup-timeout-secs", "1800"),
     {"router-startup-timeout", "router-probe-endpoints"}),
    ("startup-timeout-short-no-restart", lambda d: (set_flag(engine(d, ROUTER), "--worker-startup-timeout-secs", "3000"),
                                                    engine(d, ROUTER).pop("startupProbe")),
     {"router-startup-timeout", "router-probe-endpoints"}),
    # the same short timeout, but the startupProbe restarts the router (900 s) before it gives up
    ("startup-timeout-short-probe-restarts-near-miss", lambda d: (set_flag(engine(d, ROUTER), "--worker-startup-timeout-secs", "1800"),
                                                                  engine(d, ROUTER)["startupProbe"].update({"failureThreshold": 90})),
     set()),
    ("startup-timeout-equal-near-miss", lambda d: engine(d, "r1-prefill")["startupProbe"].update({"failureThreshold": 300}), set()),
]


test_baseline_is_clean, test_defect_fires_its_rule_only = defect_tests(CASES)


def test_default_timeout_follows_router_version():
    docs = baseline()
    args = router_args(docs)
    i = args.index("--worker-startup-timeout-secs")
    del args[i:i + 2]
    for name in ("r1-prefill", "r1-decode"):  # 1500 s: under 0.2.4's default 1800, over 0.1.8's 300
        engine(docs, name)["startupProbe"]["failureThreshold"] = 150
    assert "router-startup-timeout" not in rules_fired(docs)
    assert "router-startup-timeout" in rules_fired(docs, router_version="0.1.8")
