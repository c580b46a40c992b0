"""A kubelet stand-in for one container, for tests/test_router_recovery.py: the probe loop
(startupProbe, then liveness and readiness), the kill on a failed startup or liveness probe, the
restart of the same argv, and the restart back-off, all on one time-scale factor.

What it follows (Kubernetes, pkg/kubelet/prober and pkg/kubelet/kuberuntime):
- Probes run every periodSeconds after initialDelaySeconds; an HTTP probe fails on a status
  outside 200-399 or after timeoutSeconds. failureThreshold consecutive failures of the startup or
  liveness probe kill the container (SIGTERM, SIGKILL after terminationGracePeriodSeconds).
  Liveness and readiness start only once the startup probe has succeeded; readiness decides
  whether the pod is a Service endpoint.
- Restarts back off like kuberuntime's doBackOff with client-go's flowcontrol.Backoff: a
  container that exits within 2 x 300 s of the last restart waits the current back-off (10 s,
  doubled per restart, capped at 300 s) after it finished; one that ran longer restarts at once
  and the back-off starts again from 10 s.

Times in the spec are seconds in the cluster; `scale` turns them into test seconds. HTTP probe
timeouts are floored at MIN_HTTP_TIMEOUT_S: a loopback round trip is not scaled, and a probe that
waits a little longer is only more lenient.
"""

from __future__ import annotations

import time
import urllib.error
from dataclasses import dataclass, field
from pathlib import Path

import router_harness as H

# Kubernetes probe defaults (core/v1 Probe) and the kubelet's restart back-off.
PROBE_DEFAULTS = {"initialDelaySeconds": 0, "periodSeconds": 10, "timeoutSeconds": 1, "successThreshold": 1,
                  "failureThreshold": 3}  # fmt: skip
BACKOFF_INITIAL_S = 10.0
BACKOFF_CAP_S = 300.0
DEFAULT_GRACE_S = 30.0  # terminationGracePeriodSeconds default
MIN_HTTP_TIMEOUT_S = 0.5


@dataclass(frozen=True)
class Probe:
    kind: str  # startup | liveness | readiness
    path: str
    initial_delay: float
    period: float
    timeout: float
    success_threshold: int
    failure_threshold: int

    @classmethod
    def from_spec(cls, kind: str, spec: dict | None, scale: float) -> "Probe | None":
        if spec is None:
            return None
        get = spec.get("httpGet")
        if not isinstance(get, dict):
            raise AssertionError(f"{kind}Probe {spec}: only httpGet probes are simulated")
        v = {k: spec.get(k, d) for k, d in PROBE_DEFAULTS.items()}
        return cls(kind, str(get.get("path") or "/"), v["initialDelaySeconds"] * scale, v["periodSeconds"] * scale,
                   max(v["timeoutSeconds"] * scale, MIN_HTTP_TIMEOUT_S), int(v["successThreshold"]),
                   int(v["failureThreshold"]))  # fmt: skip


class RestartBackOff:
    """The kubelet's per-container restart back-off (no jitter)."""

    def __init__(self, scale: float):
        self.initial, self.cap = BACKOFF_INITIAL_S * scale, BACKOFF_CAP_S * scale
        self.backoff: float | None = None  # None: no entry (never restarted, or forgotten)
        self.last_update = 0.0

    def _expired(self, finished_at: float) -> bool:
        return finished_at - self.last_update > 2 * self.cap

    def delay(self, finished_at: float) -> float:
        """How long after `finished_at` the container is restarted (IsInBackOffSince)."""
        if self.backoff is None or self._expired(finished_at):
            return 0.0
        return self.backoff

    def restarted(self, finished_at: float, now: float) -> None:
        """Record a restart (Backoff.Next with eventTime = finished_at)."""
        if self.backoff is None or self._expired(finished_at):
            self.backoff = self.initial
        else:
            self.backoff = min(2 * self.backoff, self.cap)
        self.last_update = now


@dataclass
class PodProbes:
    startup: Probe | None
    liveness: Probe | None
    readiness: Probe | None
    grace: float  # scaled terminationGracePeriodSeconds

    @classmethod
    def from_container(cls, container: dict, pod_spec: dict, scale: float) -> "PodProbes":
        return cls(Probe.from_spec("startup", container.get("startupProbe"), scale),
                   Probe.from_spec("liveness", container.get("livenessProbe"), scale),
                   Probe.from_spec("readiness", container.get("readinessProbe"), scale),
                   float(pod_spec.get("terminationGracePeriodSeconds", DEFAULT_GRACE_S)) * scale)  # fmt: skip


@dataclass
class _ProbeState:
    probe: Probe
    due: float
    failures: int = 0
    successes: int = 0


@dataclass
class SimulatedContainer:
    """Runs `argv` like the kubelet runs a container with `probes`. Call tick() in a loop."""

    argv: list[str]
    env: dict[str, str]
    port: int
    probes: PodProbes
    scale: float
    log_dir: Path
    events: list[str] = field(default_factory=list)
    restarts: list[tuple[float, float]] = field(default_factory=list)  # (time, back-off waited)
    ready: bool = False

    def __post_init__(self):
        self.backoff = RestartBackOff(self.scale)
        self.t0 = time.monotonic()
        self.proc: H.RouterProcess | None = None
        self.started = False  # startup probe passed (or there is none)
        self.restart_at: float | None = None
        self.finished_at = 0.0
        self._start()

    def now(self) -> float:
        return time.monotonic() - self.t0

    def _event(self, what: str) -> None:
        self.events.append(f"{self.now():7.2f}s {what}")

    def _start(self) -> None:
        n = len(self.restarts)
        self.proc = H.RouterProcess(self.argv, self.env, self.log_dir / f"container-{n}.log", self.port).start()
        now = self.now()
        self.states = {p.kind: _ProbeState(p, now + p.initial_delay)
                       for p in (self.probes.startup, self.probes.liveness, self.probes.readiness) if p}  # fmt: skip
        self.started = self.probes.startup is None
        self.ready = False
        self._event(f"container {n} started")

    def _kill(self, why: str) -> None:
        self._event(f"kill: {why}")
        self.proc.stop(timeout=max(self.probes.grace, 0.1))
        self._exited()

    def _exited(self) -> None:
        self.ready = False
        self.finished_at = self.now()
        self.restart_at = self.finished_at + self.backoff.delay(self.finished_at)

    def _probe(self, p: Probe) -> bool:
        try:
            status, _, _ = H.http_call("GET", f"http://127.0.0.1:{self.port}{p.path}", timeout=p.timeout)
        except (OSError, urllib.error.URLError):
            return False
        return 200 <= status < 400

    def tick(self) -> None:
        now = self.now()
        if self.restart_at is not None:
            if now >= self.restart_at:
                waited = self.restart_at - self.finished_at
                self.backoff.restarted(self.finished_at, now)
                self.restarts.append((now, waited))
                self.restart_at = None
                self._start()
            return
        if self.proc.proc.poll() is not None:
            self._event(f"container exited rc={self.proc.proc.returncode}")
            self.proc.stop()
            self._exited()
            return
        for kind in ("startup", "liveness", "readiness"):
            st = self.states.get(kind)
            if st is None or now < st.due or (kind != "startup" and not self.started) or (kind == "startup" and self.started):
                continue
            st.due = now + st.probe.period
            ok = self._probe(st.probe)
            st.failures, st.successes = (0, st.successes + 1) if ok else (st.failures + 1, 0)
            if kind == "startup" and ok:
                self.started = True
                self._event(f"startup probe {st.probe.path} passed")
            elif kind == "readiness":
                if ok and st.successes >= st.probe.success_threshold and not self.ready:
                    self.ready = True
                    self._event("ready")
                elif not ok and st.failures >= st.probe.failure_threshold and self.ready:
                    self.ready = False
                    self._event("not ready")
            elif not ok and st.failures >= st.probe.failure_threshold:
                self._kill(f"{kind} probe {st.probe.path} failed {st.failures} times")
                return

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.stop()
