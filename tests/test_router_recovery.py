"""The router recovers by itself when its engines come up late (issue #13, docs/router-e2e.md).

The REAL sglang-router runs with each overlay's rendered argv (static PD, or service discovery
against a fake Kubernetes API whose leader pods are Ready from the start) against fake engines that
answer 503 until the test flips them healthy, under a simulated kubelet (tests/kubelet_sim.py) that applies the
rendered startup/liveness/readiness probes, kills and restarts the router with the same argv, and
backs off like the kubelet. Every time in the render (probe periods, thresholds, grace period,
back-off, --worker-startup-timeout-secs) is multiplied by one factor, SCALE.

The engines come up only after the router's own registration window for the (scaled)
--worker-startup-timeout-secs has closed. With the shipped probes the router must then serve a
request within a bound derived from the same settings. With the previous design (startupProbe on
/health) it must not: that is the outage of issue #13, reproduced.
"""

from __future__ import annotations

import contextlib
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import kubelet_sim as K  # noqa: E402
import router_harness as H  # noqa: E402
from fake_engine import FakeEngine  # noqa: E402
from fake_kube_api import FakeKubeAPI  # noqa: E402
from fake_kube_api import pod as kube_pod  # noqa: E402
from pdcheck.rules._router import registration_window  # noqa: E402  (what pdcheck's rules use)

pytestmark = pytest.mark.network_local

pytest.importorskip("sglang_router", reason="sglang-router is not importable (pip install sglang-router==0.3.2)",
                    exc_type=ImportError)  # fmt: skip

SCALE = 1 / 300  # 3900 s -> 13 s, 1800 s -> 6 s, 10 s -> 33 ms
# What the router needs once an engine answers, in real seconds (not scaled: hard-coded in the
# router): the detect step retries every 1, 2, 3, 4, then 5 s, then metadata and registration.
ROUTER_RETRY_CAP_S = 5.0
PROCESS_SETTLE_S = 3.0  # interpreter + router start and the first request, on a loaded 2-core box
ROUTER_DEFAULT_STARTUP_TIMEOUT = 1800  # RouterArgs.worker_startup_timeout_secs (0.2.4, 0.3.2)


def test_registration_window_matches_the_source():
    """Attempts from 0.9 x the timeout, delays 1, 2, 3, 4, 5, 5, ... s (worker_registration.rs)."""
    assert registration_window(5) == 3  # 3 attempts: 1 + 2 (measured: dropped after ~3 s)
    assert registration_window(3900) == 3510  # 705 attempts: 1+2+3+4 + 5 x 700
    assert registration_window(13) == 15


def test_restart_backoff_follows_the_kubelet():
    b = K.RestartBackOff(scale=1.0)
    assert b.delay(finished_at=5) == 0  # first restart: no entry, immediate
    b.restarted(5, now=5)
    assert b.delay(finished_at=20) == 10  # crashed soon after: 10 s
    b.restarted(20, now=30)
    assert b.delay(finished_at=40) == 20  # doubled
    for t in range(50, 400, 10):
        b.restarted(t, now=t)
    assert b.delay(finished_at=400) == 300  # capped
    b.restarted(400, now=400)
    assert b.delay(finished_at=1001) == 0  # ran more than 2 x 300 s: forgotten


def _router_container(docs: list[dict], spec: H.RouterSpec) -> tuple[dict, dict]:
    name = spec.workload.split("/", 1)[1]
    for d in docs:
        if d.get("kind") == "Deployment" and d["metadata"]["name"] == name:
            pod = d["spec"]["template"]["spec"]
            return next(c for c in pod["containers"] if c.get("name") == spec.container), pod
    raise AssertionError(f"{spec.workload} not in the render")


def _settings(docs, spec):
    c, pod = _router_container(docs, spec)
    keys = ("startupProbe", "livenessProbe", "readinessProbe")
    timeout = H.flag_value(spec.argv, "--worker-startup-timeout-secs")
    return repr((spec.discovery, [c.get(k) for k in keys], pod.get("terminationGracePeriodSeconds"), timeout)), c, pod


def _pd_routers(docs: list[dict], overlay: Path) -> list[H.RouterSpec]:
    return [r for r in H.find_routers(docs, overlay.name) if r.static_pd or r.discovery and "--pd-disaggregation" in r.argv]


def _recovery_matrix() -> list[Path]:
    """The overlays to run, built at collection time: each distinct (router mode, probes, grace
    period, timeout) once, at the first overlay that renders it, so no case skips by design."""
    seen, overlays = set(), []
    for overlay in H.overlay_dirs():
        docs = H.render(overlay)
        routers = _pd_routers(docs, overlay)
        if not routers:
            continue
        key, _, _ = _settings(docs, routers[0])
        if key not in seen:
            seen.add(key)
            overlays.append(overlay)
    return overlays


def _recovery_case(overlay: Path):
    docs = H.render(overlay)
    r = _pd_routers(docs, overlay)[0]
    _, container, pod = _settings(docs, r)
    return r, docs, container, pod


@contextlib.contextmanager
def late_engines(spec: H.RouterSpec, docs: list[dict], tmp_path: Path):
    """Fake engines that answer 503, and how the router reaches them: yields (fakes, URL map for
    rewrite_router_argv, router env). Static: one fake per --prefill/--decode URL. Discovery: a
    fake Kubernetes API (tests/fake_kube_api.py) lists one Ready leader pod per LWS the selectors
    pick, with the rendered labels and annotations and a made-up pod IP that a loopback proxy maps
    to the pod's fake engine (the router's HTTP client honours http_proxy; its Kubernetes client
    goes to 127.0.0.1, which no_proxy exempts)."""
    with contextlib.ExitStack() as stack:
        if not spec.discovery:
            urls = [("prefill", u) for u, _ in spec.prefill_urls()] + [("decode", u) for u in spec.decode_urls()]
            fakes = {u: FakeEngine(role, name=f"{role}<{u}>", model_path=None) for role, u in urls}
            env = H.clean_env()
        else:
            from sglang_router.launch_router import parse_router_args

            ra = parse_router_args(spec.router_args())
            api = stack.enter_context(FakeKubeAPI(ra.service_discovery_namespace))
            fakes = {}
            for i, e in enumerate(H.find_engines(docs)):
                roles = [r for r, sel in (("prefill", ra.prefill_selector), ("decode", ra.decode_selector)) if H.selects(sel, e.leader_labels)]
                if roles:
                    ip = f"10.255.0.{i + 1}"  # never dialled: the proxy answers for it
                    fakes[ip] = FakeEngine(roles[0], name=f"{roles[0]}<pod {e.lws}-0 {ip}>", model_path=None)
                    api.put_pod(kube_pod(f"{e.lws}-0", api.namespace, e.leader_labels, ip, True, e.leader_annotations))
            proxy = stack.enter_context(H.MappingProxy({(ip, ra.service_discovery_port): 0 for ip in fakes}))
            kubeconfig, home = tmp_path / "kubeconfig", tmp_path / "home"
            kubeconfig.write_text(api.kubeconfig())
            home.mkdir(exist_ok=True)
            env = H.clean_env(KUBECONFIG=str(kubeconfig), HOME=str(home), http_proxy=proxy.url, HTTP_PROXY=proxy.url,
                              no_proxy="127.0.0.1,localhost", NO_PROXY="127.0.0.1,localhost")  # fmt: skip
        for f in fakes.values():
            f.healthy = False
            stack.enter_context(f)
        # the fakes' ports are known once they are started
        if spec.discovery:
            url_map = {}
            proxy.mapping.update({(ip, ra.service_discovery_port): f.port for ip, f in fakes.items()})
        else:
            url_map = {u: f.url for u, f in fakes.items()}
        yield list(fakes.values()), url_map, env


def run_late_engines(spec: H.RouterSpec, docs: list[dict], container: dict, pod: dict, tmp_path: Path) -> dict:
    """Engines answer 503 until the router's registration window has closed, then 200. Returns
    what happened under the simulated kubelet."""
    probes = K.PodProbes.from_container(container, pod, SCALE)
    timeout = int(H.flag_value(spec.argv, "--worker-startup-timeout-secs") or ROUTER_DEFAULT_STARTUP_TIMEOUT)
    scaled_timeout = max(1, round(timeout * SCALE))
    up_at = registration_window(scaled_timeout) + PROCESS_SETTLE_S
    step = min(p.period for p in (probes.startup, probes.liveness, probes.readiness) if p) / 3
    bound = (ROUTER_RETRY_CAP_S + PROCESS_SETTLE_S + probes.grace + K.BACKOFF_INITIAL_S * SCALE
             + sum(p.period for p in (probes.startup, probes.readiness) if p))  # fmt: skip
    out = {"up_at": up_at, "bound": bound, "scaled_timeout": scaled_timeout, "served_after": None,
           "ready_before_up": False}  # fmt: skip
    with late_engines(spec, docs, tmp_path) as (fakes, url_map, env):
        port, prom = H.free_port(), H.free_port()
        argv = H.rewrite_router_argv(spec.argv, url_map, port, prom, log_dir=tmp_path / "router-logs")
        argv = H.set_flag(argv, "--worker-startup-timeout-secs", str(scaled_timeout))
        sim = K.SimulatedContainer(argv, env, port, probes, SCALE, tmp_path)
        first_log = sim.proc
        try:
            # Up only once the first router's window has closed: it was restarted, or it logged
            # the drop of every engine (bounded wait; the window starts when the interpreter is up).
            while not (sim.now() >= up_at and (sim.restarts or first_log.log().count("Workflow failed") >= len(fakes))):
                assert sim.now() < up_at + PROCESS_SETTLE_S + ROUTER_RETRY_CAP_S, (
                    "the router never dropped the engines:\n" + first_log.log_tail())
                sim.tick()
                out["ready_before_up"] |= sim.ready
                time.sleep(step)
            out["up_at"] = sim.now()
            for f in fakes:
                f.healthy = True
            sim._event("engines healthy")
            while sim.now() < out["up_at"] + bound and out["served_after"] is None:
                sim.tick()
                if sim.ready:
                    st, _, body = H.http_call("POST", f"http://127.0.0.1:{port}/generate", {"text": "ping"}, timeout=5)
                    if st == 200 and "FAKE-DECODE-ANSWER" in body:
                        out["served_after"] = sim.now() - out["up_at"]
                time.sleep(step)
        finally:
            sim.stop()
    out.update(events=sim.events, restarts=sim.restarts, log=sim.proc.log(), backoff_initial=sim.backoff.initial)
    return out


RECOVERY_MATRIX = _recovery_matrix()


def test_the_recovery_matrix_is_not_empty():
    assert RECOVERY_MATRIX, "no overlay renders a PD router: the recovery matrix is empty"


@pytest.mark.slow
@pytest.mark.parametrize("overlay", [pytest.param(d, id=d.name) for d in RECOVERY_MATRIX])
def test_router_recovers_from_late_engines(overlay, tmp_path):
    spec, docs, container, pod = _recovery_case(overlay)
    res = run_late_engines(spec, docs, container, pod, tmp_path)
    story = "\n".join(res["events"]) + "\n--- router log tail ---\n" + "\n".join(res["log"].splitlines()[-30:])
    assert res["served_after"] is not None, (
        f"{overlay.name}: engines healthy at {res['up_at']:.1f}s (after the router's registration window for "
        f"--worker-startup-timeout-secs {res['scaled_timeout']}), no request served within {res['bound']:.1f}s:\n{story}"
    )
    assert not res["ready_before_up"], f"{overlay.name}: router Ready while no engine was healthy:\n{story}"
    assert res["restarts"], f"{overlay.name}: the startupProbe never restarted the router:\n{story}"
    grown = [(t, w) for t, w in res["restarts"] if w > res["backoff_initial"] + 1e-9]
    assert not grown, f"{overlay.name}: restart back-off grew beyond 10 s (scaled): {grown}\n{story}"
    print(f"{overlay.name}: served {res['served_after']:.2f}s after the engines came up "
          f"(bound {res['bound']:.2f}s, {len(res['restarts'])} restarts)")


@pytest.mark.slow
@pytest.mark.parametrize("discovery", [False, True], ids=["static", "service-discovery"])
def test_previous_probe_design_stays_down(discovery, tmp_path):
    """The outage of issue #13, with the same harness: startupProbe on /health (200 without
    engines) passes at once, the router drops the late engines and nothing restarts it. With
    discovery the pods are Ready from the start and only their engines are late: the router
    drops them the same way and, the pods being unchanged, never sees them again."""
    for overlay in H.overlay_dirs():
        docs = H.render(overlay)
        routers = [r for r in _pd_routers(docs, overlay) if r.discovery == discovery]
        if routers:
            break
    else:
        pytest.skip(f"no overlay renders a {'discovery' if discovery else 'static'} PD router")
    container, pod = _router_container(docs, routers[0])
    old = {**container, "startupProbe": {**container["startupProbe"], "httpGet": {"path": "/health", "port": "http"}}}
    res = run_late_engines(routers[0], docs, old, pod, tmp_path)
    story = "\n".join(res["events"]) + "\n--- router log tail ---\n" + "\n".join(res["log"].splitlines()[-30:])
    assert res["served_after"] is None, f"{overlay.name}: served {res['served_after']}s after the engines came up:\n{story}"
    assert not res["restarts"], story
    assert "Workflow failed" in res["log"], story  # the router dropped the engines (0.2.4 and 0.3.2 log this)
