"""The router recovers by itself when its engines come up late (issue #13, docs/router-e2e.md).

The REAL sglang-router runs with each overlay's rendered argv against fake engines that answer 503
until the test flips them healthy, under a simulated kubelet (tests/kubelet_sim.py) that applies the
rendered startup/liveness/readiness probes, kills and restarts the router with the same argv, and
backs off like the kubelet. Every time in the render (probe periods, thresholds, grace period,
back-off, --worker-startup-timeout-secs) is multiplied by one factor, SCALE.

The engines come up only after the router's own registration window for the (scaled)
--worker-startup-timeout-secs has closed. With the shipped probes the router must then serve a
request within a bound derived from the same settings. With the previous design (startupProbe on
/health) it must not: that is the outage of issue #13, reproduced.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import kubelet_sim as K  # noqa: E402
import router_harness as H  # noqa: E402
from fake_engine import FakeEngine  # noqa: E402
from pdcheck.rules.router._helpers import registration_window  # noqa: E402  (what pdcheck's rules use)

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
    return repr(([c.get(k) for k in keys], pod.get("terminationGracePeriodSeconds"), timeout)), c, pod


_SEEN: dict[str, str] = {}  # settings -> first overlay with them (each distinct setting runs once)


def _recovery_case(overlay: Path):
    docs = H.render(overlay)
    routers = [r for r in H.find_routers(docs, overlay.name) if r.static_pd]
    if not routers:
        pytest.skip(f"{overlay.relative_to(H.REPO)} renders no static-PD router")
    r = routers[0]
    key, container, pod = _settings(docs, r)
    first = _SEEN.setdefault(key, overlay.name)
    if first != overlay.name:
        pytest.skip(f"same router probes and timeout as {first} (run there)")
    return r, container, pod


def run_late_engines(spec: H.RouterSpec, container: dict, pod: dict, tmp_path: Path) -> dict:
    """Engines answer 503 until the router's registration window has closed, then 200. Returns
    what happened under the simulated kubelet."""
    probes = K.PodProbes.from_container(container, pod, SCALE)
    timeout = int(H.flag_value(spec.argv, "--worker-startup-timeout-secs") or ROUTER_DEFAULT_STARTUP_TIMEOUT)
    scaled_timeout = max(1, round(timeout * SCALE))
    up_at = registration_window(scaled_timeout) + PROCESS_SETTLE_S
    prefill = [u for u, _ in spec.prefill_urls()]
    fakes = {u: FakeEngine("prefill", name=f"prefill<{u}>", model_path=None) for u in prefill}
    fakes |= {u: FakeEngine("decode", name=f"decode<{u}>", model_path=None) for u in spec.decode_urls()}
    for f in fakes.values():
        f.healthy = False
        f.start()
    port, prom = H.free_port(), H.free_port()
    argv = H.rewrite_router_argv(spec.argv, {u: f.url for u, f in fakes.items()}, port, prom,
                                 log_dir=tmp_path / "router-logs")  # fmt: skip
    argv = H.set_flag(argv, "--worker-startup-timeout-secs", str(scaled_timeout))
    step = min(p.period for p in (probes.startup, probes.liveness, probes.readiness) if p) / 3
    bound = (ROUTER_RETRY_CAP_S + PROCESS_SETTLE_S + probes.grace + K.BACKOFF_INITIAL_S * SCALE
             + sum(p.period for p in (probes.startup, probes.readiness) if p))  # fmt: skip
    sim = K.SimulatedContainer(argv, H.clean_env(), port, probes, SCALE, tmp_path)
    out = {"up_at": up_at, "bound": bound, "scaled_timeout": scaled_timeout, "served_after": None,
           "ready_before_up": False}  # fmt: skip
    first_log = sim.proc
    try:
        # Up only once the first router's window has closed: it was restarted, or it logged the
        # drop of every engine (bounded wait; the window starts when the interpreter is up).
        while not (sim.now() >= up_at and (sim.restarts or first_log.log().count("Workflow failed") >= len(fakes))):
            assert sim.now() < up_at + PROCESS_SETTLE_S + ROUTER_RETRY_CAP_S, "the router never dropped the engines:\n" + first_log.log_tail()
            sim.tick()
            out["ready_before_up"] |= sim.ready
            time.sleep(step)
        out["up_at"] = sim.now()
        for f in fakes.values():
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
        for f in fakes.values():
            f.stop()
    out.update(events=sim.events, restarts=sim.restarts, log=sim.proc.log(), backoff_initial=sim.backoff.initial)
    return out


@pytest.mark.parametrize("overlay", [pytest.param(d, id=d.name) for d in H.overlay_dirs()] or [pytest.param(None, id="none")])
def test_router_recovers_from_late_engines(overlay, tmp_path):
    if overlay is None:
        pytest.skip("no overlays/<name>/kustomization.yaml yet")
    spec, container, pod = _recovery_case(overlay)
    res = run_late_engines(spec, container, pod, tmp_path)
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


def test_previous_probe_design_stays_down(tmp_path):
    """The outage of issue #13, with the same harness: startupProbe on /health (200 without
    engines) passes at once, the router drops the late engines and nothing restarts it."""
    overlays = H.overlay_dirs()
    if not overlays:
        pytest.skip("no overlays/<name>/kustomization.yaml yet")
    for overlay in overlays:
        docs = H.render(overlay)
        routers = [r for r in H.find_routers(docs, overlay.name) if r.static_pd]
        if routers:
            break
    else:
        pytest.skip("no overlay renders a static-PD router")
    container, pod = _router_container(docs, routers[0])
    old = {**container, "startupProbe": {**container["startupProbe"], "httpGet": {"path": "/health", "port": "http"}}}
    res = run_late_engines(routers[0], old, pod, tmp_path)
    story = "\n".join(res["events"]) + "\n--- router log tail ---\n" + "\n".join(res["log"].splitlines()[-30:])
    assert res["served_after"] is None, f"served {res['served_after']}s after the engines came up:\n{story}"
    assert not res["restarts"], story
    assert "Workflow failed" in res["log"], story  # the router dropped the engines (0.2.4 and 0.3.2 log this)
