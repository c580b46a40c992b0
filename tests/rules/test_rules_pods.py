"""Pod/LWS rules: each case is one defect (or a near miss) applied to the clean baseline, and the rules it fires."""

import pytest

from ruletest import baseline, engine, find, lws, pod_spec, rules_fired, run_rules

P, D = "r1-prefill", "r1-decode"


def _no_shm(d):
    spec = pod_spec(d, P)
    spec["volumes"] = [v for v in spec["volumes"] if v["name"] != "dshm"]
    spec["containers"][0]["volumeMounts"] = [m for m in spec["containers"][0]["volumeMounts"] if m["name"] != "dshm"]


def _disk_shm(d):
    next(v for v in pod_spec(d, P)["volumes"] if v["name"] == "dshm")["emptyDir"].pop("medium")


def _host_ipc(d):
    _no_shm(d)
    pod_spec(d, P)["hostIPC"] = True


def _probe(name, kind, **fields):
    if "httpGet" in fields:  # SGLang's /health takes over 1 s: keep health-probe-timeout out of these cases
        fields.setdefault("timeoutSeconds", 5)

    def mutate(d):
        engine(d, P)[kind] = fields
    return mutate


def _drop(name, kind):
    return lambda d: engine(d, name).pop(kind)


def _both(*mutations):
    def mutate(d):
        for m in mutations:
            m(d)
    return mutate


def _spec(name, *path, value):
    def mutate(d):
        obj = lws(d, name)["spec"]
        for key in path[:-1]:
            obj = obj.setdefault(key, {})
        obj[path[-1]] = value
    return mutate


def _rename_decode(new):
    def mutate(d):
        lws(d, D)["metadata"]["name"] = new
        find(d, "Service", "r1-decode-leader")["spec"]["selector"]["leaderworkerset.sigs.k8s.io/name"] = new
    return mutate


def _annotate_budget(seconds):
    def mutate(d):
        lws(d, P)["spec"]["leaderWorkerTemplate"]["workerTemplate"]["metadata"]["annotations"]["pdcheck.io/startup-budget-seconds"] = seconds
    return mutate


HTTP = {"path": "/health", "port": 28000}
ROLLOUT = ("rolloutStrategy", "rollingUpdateConfiguration")

def _launch_line(shell: bool):
    """The prefill launch written as one string: the whole argv in command[0], or a `sh -c` script."""
    def mutate(d):
        c = engine(d, P)
        line = " ".join(c["command"] + c.pop("args"))
        c["command"] = ["sh", "-c", line] if shell else [line]
    return mutate


CASES = [
    # (case id, mutation, rules that must fire and nothing else)
    # the prefill pods run nothing, so the router's prefill Service reaches no engine
    ("launch-line-in-one-command-word", _launch_line(False), {"command-not-split", "router-url-target"}),
    ("near-miss:launch-line-through-a-shell", _launch_line(True), set()),
    ("no-dev-shm", _no_shm, {"dev-shm-missing"}),
    ("dev-shm-on-disk", _disk_shm, {"dev-shm-missing"}),
    ("near-miss:host-ipc", _host_ipc, set()),
    ("readiness-tcp", _probe(P, "readinessProbe", tcpSocket={"port": 28000}, periodSeconds=10), {"engine-readiness-probe"}),
    ("readiness-missing", _drop(D, "readinessProbe"), {"engine-readiness-probe"}),
    ("readiness-other-path", _probe(P, "readinessProbe", httpGet={"path": "/v1/models", "port": 28000}), {"engine-readiness-probe"}),
    # --grpc-mode starts SGLang's gRPC server instead of the HTTP one: no HTTP /health to probe
    ("near-miss:readiness-missing-grpc-mode", _both(_drop(D, "readinessProbe"), lambda d: engine(d, D)["args"].append("--grpc-mode")), set()),
    ("near-miss:named-port-health-generate", _probe(P, "readinessProbe", httpGet={"path": "/health_generate", "port": "http"}), set()),
    ("probe-wrong-port", _probe(P, "readinessProbe", httpGet={"path": "/health", "port": 30001}), {"probe-port-not-served"}),
    ("probe-undeclared-name", _probe(P, "startupProbe", httpGet={"path": "/health", "port": "api"}, failureThreshold=360), {"probe-port-not-served"}),
    ("near-miss:bootstrap-port-prefill", _probe(P, "livenessProbe", tcpSocket={"port": 8998}), set()),
    ("startup-budget-short", _probe(P, "startupProbe", httpGet=HTTP, periodSeconds=10, failureThreshold=60), {"startup-probe-budget"}),
    ("near-miss:budget-annotation", _both(_probe(P, "startupProbe", httpGet=HTTP, periodSeconds=10, failureThreshold=60),
                                          _annotate_budget("600")), set()),
    ("liveness-no-startup", _both(_drop(P, "startupProbe"), _probe(P, "livenessProbe", httpGet=HTTP, periodSeconds=10)),
     {"liveness-without-startup"}),
    ("near-miss:liveness-long-delay", _both(_drop(P, "startupProbe"),
                                            _probe(P, "livenessProbe", httpGet=HTTP, initialDelaySeconds=1800, periodSeconds=10)), set()),
    ("leader-ready-deadlock", _spec(P, "startupPolicy", value="LeaderReady"), {"leader-ready-deadlock"}),
    ("near-miss:leader-ready-exec", _both(_spec(P, "startupPolicy", value="LeaderReady"), _drop(P, "startupProbe"),
                                          _probe(P, "readinessProbe", exec={"command": ["true"]})), set()),
    ("restart-none", _spec(P, "leaderWorkerTemplate", "restartPolicy", value="None"), {"lws-restart-policy"}),
    ("near-miss:restart-after-start", _spec(P, "leaderWorkerTemplate", "restartPolicy", value="RecreateGroupAfterStart"), set()),
    ("name-not-dns1035", _rename_decode("r1.decode"), {"lws-name-invalid"}),
    ("name-too-long", _rename_decode("d" * 51), {"lws-name-invalid"}),
    ("near-miss:name-50", _rename_decode("d" * 50), set()),
    ("rollout-zero-zero", _spec(P, *ROLLOUT, value={"maxUnavailable": 0, "maxSurge": 0}), {"lws-rollout-no-progress"}),
    ("rollout-percent-rounds-to-0", _spec(P, *ROLLOUT, value={"maxUnavailable": "10%", "maxSurge": 0}), {"lws-rollout-no-progress"}),
    ("near-miss:rollout-surge", _spec(P, *ROLLOUT, value={"maxUnavailable": 0, "maxSurge": 1}), set()),
]


@pytest.mark.parametrize("mutate, expected", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_defect_fires_its_rule_only(mutate, expected):
    docs = baseline()
    mutate(docs)
    assert rules_fired(docs) == expected


def test_startup_budget_message_and_fix():
    docs = baseline()
    _probe(P, "startupProbe", httpGet=HTTP, periodSeconds=10, failureThreshold=60)(docs)
    (f,) = [f for f in run_rules(docs) if f.rule == "startup-probe-budget"]
    assert "0 + 10 x 60 = 600 s" in f.message and "1800 s" in f.message and "failureThreshold to at least 180" in f.fix


HEALTH_TIMEOUT_CASES = [
    # (case id, mutation of the prefill engine's probes, rules fired)
    ("readiness-default-timeout", lambda c: c["readinessProbe"].pop("timeoutSeconds"), {"health-probe-timeout"}),
    ("startup-timeout-1", lambda c: c["startupProbe"].update(timeoutSeconds=1), {"health-probe-timeout"}),
    ("timeout-2-is-enough", lambda c: c["readinessProbe"].update(timeoutSeconds=2), set()),
    ("generation-off", lambda c: (c["readinessProbe"].pop("timeoutSeconds"),
                                  c["env"].append({"name": "SGLANG_ENABLE_HEALTH_ENDPOINT_GENERATION", "value": "false"})), set()),
]


@pytest.mark.parametrize("mutate, expected", [c[1:] for c in HEALTH_TIMEOUT_CASES], ids=[c[0] for c in HEALTH_TIMEOUT_CASES])
def test_health_probe_timeout(mutate, expected):
    docs = baseline()
    mutate(engine(docs, "r1-prefill"))
    assert rules_fired(docs) == expected
