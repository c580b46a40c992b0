"""End-to-end check of the router wiring with the REAL sglang-router (PyPI, pinned 0.3.2).

The router Deployment is taken from each rendered overlay; its exact argv is run with only
loopback rewrites (see docs/router-e2e.md and router_harness.rewrite_router_argv), against fake
prefill/decode engines (tests/fake_engine.py). Two hostname mappings are exercised:

- "url":   each --prefill/--decode URL is rewritten to http://127.0.0.1:<fake port> (explicit map
           printed in the failure message). The router then sends bootstrap_host=127.0.0.1.
- "proxy": the URLs are left exactly as rendered; the router gets http_proxy=<loopback proxy> that
           maps "<service host>:<port>" -> fake engine. This shows what the router sends in the
           cluster: bootstrap_host = the literal Service host of the --prefill URL.

What is asserted per request (chat + generate, non-streaming and streaming):
- prefill and decode each received it once, with identical JSON bodies (same bootstrap_room);
- bootstrap_host == literal host of the --prefill URL the router was given;
- bootstrap_port == the token after the --prefill URL (None when absent) — and the port decode will
  really dial (that value, or decode's own --disaggregation-bootstrap-port when None) equals the
  prefill LWS's --disaggregation-bootstrap-port (default 8998);
- the client gets decode's answer.
"""

from __future__ import annotations

import importlib.metadata
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import router_harness as H  # noqa: E402
from fake_engine import FakeEngine  # noqa: E402

pytestmark = pytest.mark.network_local

sglang_router = pytest.importorskip(
    "sglang_router",
    reason="sglang-router is not importable (pip install sglang-router==0.3.2)",
    exc_type=ImportError,
)

ROUTER_VERSION = importlib.metadata.version("sglang-router")
STARTUP_DEADLINE_S = 30.0
MODES = ("url", "proxy")


# ------------------------------------------------------------------------------------------------
# expectations and the checks (pure functions, so the failure path is unit-tested below)
# ------------------------------------------------------------------------------------------------
@dataclass
class PrefillExpect:
    url: str  # --prefill URL as rendered
    argv_bootstrap: int | None  # token after the URL in the router argv (None: absent / "none")
    serves_bootstrap_on: int  # prefill engine's --disaggregation-bootstrap-port
    # Service port -> pod port for the URL's host (a ClusterIP Service); None: headless / pod IP,
    # where the dialled port is the pod port.
    port_map: dict[int, int] | None = None

    def reaches(self, port: int) -> int | None:
        return port if self.port_map is None else self.port_map.get(port)


def parse_bootstrap_token(tok: str | None) -> int | None:
    if tok is None or tok.lower() == "none":
        return None
    return int(tok)


def bootstrap_problems(
    body: dict, *, expected_host: str, exp: PrefillExpect, decode_default_bootstrap: int
) -> list[str]:
    """Problems with the bootstrap fields the router put in a request body."""
    probs = []
    room = body.get("bootstrap_room")
    if not isinstance(room, int) or isinstance(room, bool) or not 0 <= room < 2**63:
        probs.append(f"bootstrap_room {room!r} is not a non-negative 63-bit int")
    if body.get("bootstrap_host") != expected_host:
        probs.append(f"bootstrap_host {body.get('bootstrap_host')!r} != {expected_host!r}")
    if "bootstrap_port" not in body:
        probs.append("bootstrap_port missing")
    elif body["bootstrap_port"] != exp.argv_bootstrap:
        probs.append(f"bootstrap_port {body['bootstrap_port']!r} != router argv value {exp.argv_bootstrap!r}")
    sent = body.get("bootstrap_port")
    probs += dial_problems(sent, exp, decode_default_bootstrap)
    return probs


def dial_problems(sent: int | None, exp: PrefillExpect, decode_default_bootstrap: int) -> list[str]:
    """Decode dials <bootstrap_host>:<sent or its own default>; through the prefill URL's Service
    that must land on the port prefill serves its bootstrap server on."""
    dialed = sent if sent is not None else decode_default_bootstrap
    lands = exp.reaches(dialed)
    if lands != exp.serves_bootstrap_on:
        via = "" if exp.port_map is None else f" -> Service port map {exp.port_map} -> pod port {lands}"
        return [
            f"decode would dial bootstrap port {dialed} (router sent {sent!r}, decode default "
            f"{decode_default_bootstrap}){via}, but prefill serves its bootstrap server on {exp.serves_bootstrap_on}"
        ]
    return []


def test_bootstrap_check_can_fail():
    """The check flags the classic mismatch (sglang#11747): prefill serves 9000, router passes
    no port, decode falls back to its own default 8998."""
    exp = PrefillExpect("http://p:30000", None, 9000)
    body = {"bootstrap_host": "p", "bootstrap_port": None, "bootstrap_room": 5}
    probs = bootstrap_problems(body, expected_host="p", exp=exp, decode_default_bootstrap=8998)
    assert len(probs) == 1 and "dial bootstrap port 8998" in probs[0]
    assert bootstrap_problems(body, expected_host="p", exp=exp, decode_default_bootstrap=9000) == []
    assert bootstrap_problems({**body, "bootstrap_host": "127.0.0.1"}, expected_host="p", exp=exp, decode_default_bootstrap=9000)
    assert bootstrap_problems({**body, "bootstrap_room": None}, expected_host="p", exp=exp, decode_default_bootstrap=9000)
    # through a ClusterIP Service: the dialled port must be a Service port that targets 9000
    svc = PrefillExpect("http://p:30000", 9000, 9000, port_map={30000: 30000, 9000: 9000})
    assert dial_problems(9000, svc, 8998) == []
    bad = PrefillExpect("http://p:30000", 9000, 9000, port_map={30000: 30000, 8998: 8998})
    assert dial_problems(9000, bad, 8998) and dial_problems(None, bad, 8998)


# ------------------------------------------------------------------------------------------------
# the end-to-end driver
# ------------------------------------------------------------------------------------------------
REQUESTS = [
    ("chat", "/v1/chat/completions",
     {"model": "fake-pd-model", "messages": [{"role": "user", "content": "ping"}], "max_completion_tokens": 8}),
    ("generate", "/generate", {"text": "ping", "sampling_params": {"max_new_tokens": 8, "temperature": 0}}),
]  # fmt: skip


def _new_posts(engines: list[FakeEngine], marks: dict[int, int], path: str, wait_s: float = 2.0):
    """POSTs to `path` each engine got since `marks`; waits (bounded) for at least one."""
    t0 = time.monotonic()
    while True:
        got = [(e, r) for e in engines for r in e.requests[marks[id(e)] :] if r.method == "POST" and r.path == path]
        if got or time.monotonic() - t0 > wait_s:
            return got
        time.sleep(0.02)


def run_pd_router(
    argv: list[str],
    prefills: list[PrefillExpect],
    decode_defaults: dict[str, int],  # decode URL -> decode's own --disaggregation-bootstrap-port
    mode: str,
    tmp_path: Path,
    label: str,
) -> dict:
    """Run the real router with `argv` (as rendered) against fake engines; assert the PD contract.
    Returns observations for reporting."""
    decode_urls = list(decode_defaults)
    fakes_p = {p.url: FakeEngine("prefill", name=f"prefill<{p.url}>", model_path=None) for p in prefills}
    fakes_d = {u: FakeEngine("decode", name=f"decode<{u}>", model_path=None) for u in decode_urls}
    all_fakes = [*fakes_p.values(), *fakes_d.values()]
    started: list[FakeEngine] = []
    try:
        for f in all_fakes:
            started.append(f.start())
        port, prom = H.free_port(), H.free_port()
        if mode == "url":
            url_map = {u: f.url for u, f in {**fakes_p, **fakes_d}.items()}
            expected_host = {p.url: "127.0.0.1" for p in prefills}
            proxy_ctx = None
            env = H.clean_env()
        else:
            url_map = {}
            mapping = {}
            for u, f in {**fakes_p, **fakes_d}.items():
                s = urlsplit(u)
                mapping[(s.hostname, s.port or 80)] = f.port
            expected_host = {p.url: urlsplit(p.url).hostname for p in prefills}
            proxy_ctx = H.MappingProxy(mapping)
        run_argv = H.rewrite_router_argv(argv, url_map, port, prom, log_dir=tmp_path / "router-logs")
        ctx = f"[{label} mode={mode}] mapping={url_map or 'proxy'} argv={run_argv}"

        with (proxy_ctx or _Null()) as proxy:
            if proxy is not None:
                env = H.clean_env(http_proxy=proxy.url, HTTP_PROXY=proxy.url, no_proxy="127.0.0.1,localhost", NO_PROXY="127.0.0.1,localhost")
            with H.RouterProcess(run_argv, env, tmp_path / f"router-{mode}.log", port) as router:
                ready_s = router.wait_ready(STARTUP_DEADLINE_S, need_prefill=len(prefills), need_decode=len(decode_urls))
                startup = {f.name: f.paths() for f in all_fakes}
                for f in all_fakes:
                    assert "GET /health" in startup[f.name], f"{ctx}: router never called /health on {f.name}: {startup}"

                for kind, path, payload in REQUESTS:
                    for stream in (False, True):
                        body = {**payload, "stream": stream}
                        marks = {id(f): len(f.requests) for f in all_fakes}
                        st, ctype, text = H.http_call("POST", router.base + path, body, timeout=15)
                        what = f"{ctx} {kind} stream={stream}"
                        assert st == 200, f"{what}: router answered {st}: {text[:500]}\n{router.log_tail()}"
                        got_p = _new_posts(list(fakes_p.values()), marks, path)
                        got_d = _new_posts(list(fakes_d.values()), marks, path)
                        assert len(got_p) == 1, f"{what}: prefill POSTs {[(e.name, r.body) for e, r in got_p]}"
                        assert len(got_d) == 1, f"{what}: decode POSTs {[(e.name, r.body) for e, r in got_d]}"
                        (pe, pr), (de, dr) = got_p[0], got_d[0]
                        assert isinstance(pr.body, dict) and isinstance(dr.body, dict), what
                        # the router sends the same JSON to both
                        assert pr.body == dr.body, f"{what}: prefill/decode bodies differ:\n{pr.body}\n{dr.body}"
                        # client fields are passed through
                        for k, v in body.items():
                            assert pr.body.get(k) == v, f"{what}: field {k} {pr.body.get(k)!r} != {v!r}"
                        p_url = next(u for u, f in fakes_p.items() if f is pe)
                        d_url = next(u for u, f in fakes_d.items() if f is de)
                        exp = next(p for p in prefills if p.url == p_url)
                        probs = bootstrap_problems(
                            pr.body, expected_host=expected_host[p_url], exp=exp,
                            decode_default_bootstrap=decode_defaults[d_url],
                        )  # fmt: skip
                        assert not probs, f"{what}: " + "; ".join(probs)
                        # the client gets decode's answer, not prefill's
                        assert de.marker in text and pe.marker not in text, f"{what}: client got {text[:300]}"
                        if stream:
                            assert "text/event-stream" in ctype and "data: [DONE]" in text, f"{what}: {ctype} {text[:200]}"
                        else:
                            ans = json.loads(text)
                            got = ans["choices"][0]["message"]["content"] if kind == "chat" else ans["text"]
                            assert got == f"{de.marker} room={pr.body['bootstrap_room']}", f"{what}: {ans}"

                unknown = [(f.name, r.method, r.path) for f in all_fakes for r in f.unknown]
                assert not unknown, f"{ctx}: router called paths the fake does not know: {unknown}"
                if proxy is not None:
                    assert not proxy.unmapped, f"{ctx}: router tried unmapped hosts: {proxy.unmapped}"
                return {"ready_s": ready_s, "startup": startup}
    finally:
        for f in started:
            f.stop()


class _Null:
    def __enter__(self):
        return None

    def __exit__(self, *exc):
        return False


# ------------------------------------------------------------------------------------------------
# 1. self-test against the seed document's router argv (runs even before any overlay exists)
# ------------------------------------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize(
    "explicit_port,mode",
    [(None, "url"), (None, "proxy"), (9000, "proxy")],
    ids=["seed-argv-url", "seed-argv-proxy", "seed-argv+port9000-proxy"],
)
def test_seed_reference_router(mode, explicit_port, tmp_path):
    argv = list(H.SEED_ROUTER_ARGV)
    if explicit_port is not None:  # the "--prefill URL PORT" form; engines then serve bootstrap on it
        argv.insert(argv.index("--prefill") + 2, str(explicit_port))
    serves = explicit_port or H.DEFAULT_BOOTSTRAP_PORT
    prefills = [PrefillExpect("http://deepseekr10528-prefill-main:30000", explicit_port, serves)]
    obs = run_pd_router(
        argv, prefills, {"http://deepseekr10528-decode-main:30000": H.DEFAULT_BOOTSTRAP_PORT}, mode, tmp_path, "seed"
    )
    # what 0.3.2 calls at start-up (pinned: a change here is worth knowing about)
    for name, paths in obs["startup"].items():
        assert paths[:1] == ["GET /health"], (name, paths)
        assert {"GET /server_info", "GET /model_info"} <= set(paths), (name, paths)


# ------------------------------------------------------------------------------------------------
# 2. every overlay's static-PD router
# ------------------------------------------------------------------------------------------------
# The matrix is built at collection time from each overlay's render, so that every case applies:
# an overlay's router is either static PD (--prefill/--decode URLs) or service discovery.
_OVERLAYS = H.overlay_dirs()


def _routers(docs: list[dict], source: str, kind: str) -> list[H.RouterSpec]:
    return [r for r in H.find_routers(docs, source) if getattr(r, kind)]


STATIC_PD = [d for d in _OVERLAYS if _routers(H.render(d), d.name, "static_pd")]
DISCOVERY = [d for d in _OVERLAYS if _routers(H.render(d), d.name, "discovery")]


def test_every_overlay_has_a_router_under_test():
    assert _OVERLAYS, "no overlays/<name>/kustomization.yaml"
    assert {d.name for d in _OVERLAYS} == {d.name for d in STATIC_PD + DISCOVERY}


def _pd_expectations(router: H.RouterSpec, docs: list[dict]):
    prefills, decode_defaults, targets = [], {}, []
    for url, tok in router.prefill_urls():
        t = H.resolve_service_url(url, docs)
        targets.append(t)
        assert t.engine.mode == "prefill", f"{router.workload} --prefill {url} reaches {t.via} -> LWS {t.engine.lws} (mode {t.engine.mode})"
        prefills.append(PrefillExpect(url, parse_bootstrap_token(tok), t.engine.bootstrap_port, t.port_map))
    for url in router.decode_urls():
        t = H.resolve_service_url(url, docs)
        targets.append(t)
        assert t.engine.mode == "decode", f"{router.workload} --decode {url} reaches {t.via} -> LWS {t.engine.lws} (mode {t.engine.mode})"
        decode_defaults[url] = t.engine.bootstrap_port
    for t in targets:
        assert t.engine_port == t.engine.port, (
            f"{router.workload}: http://{t.host}:{t.port} reaches port {t.engine_port} of LWS {t.engine.lws} "
            f"via {t.via}, but its sglang server listens on --port {t.engine.port}"
        )
    return prefills, decode_defaults


@pytest.mark.parametrize("overlay", STATIC_PD, ids=lambda d: d.name)
def test_overlay_router_wiring_in_render(overlay):
    """Static part: every --prefill/--decode URL reaches an LWS leader of the right mode on its
    sglang --port, and the bootstrap port decode will dial is the one prefill serves."""
    docs = H.render(overlay)
    for r in _routers(docs, overlay.name, "static_pd"):
        prefills, decode_defaults = _pd_expectations(r, docs)
        assert prefills and decode_defaults, r.argv
        for p in prefills:
            for d_url, d_default in decode_defaults.items():
                probs = dial_problems(p.argv_bootstrap, p, d_default)
                assert not probs, f"{overlay.name} {r.workload} --prefill {p.url} (decode {d_url}): {probs}"


@pytest.mark.slow
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("overlay", STATIC_PD, ids=lambda d: d.name)
def test_overlay_router_e2e(overlay, mode, tmp_path):
    docs = H.render(overlay)
    for i, r in enumerate(_routers(docs, overlay.name, "static_pd")):
        prefills, decode_defaults = _pd_expectations(r, docs)
        run_pd_router(r.argv, prefills, decode_defaults, mode, tmp_path / str(i), f"{overlay.name} {r.workload}")


# ------------------------------------------------------------------------------------------------
# 3. the service-discovery router argv, parsed and started by the real router
# ------------------------------------------------------------------------------------------------
def _discovery_sources():
    """(overlay, component-or-None): the overlays whose render has a discovery router, and every
    other overlay with each router discovery component added."""
    out = [pytest.param(d, None, id=d.name) for d in DISCOVERY]
    out += [pytest.param(d, c, id=f"{d.name}+{c.relative_to(H.REPO)}")
            for c in H.router_discovery_components() for d in _OVERLAYS if d not in DISCOVERY]
    return out


@pytest.mark.slow
@pytest.mark.parametrize("overlay,component", _discovery_sources())
def test_service_discovery_router_argv(overlay, component, tmp_path):
    docs = H.render(overlay) if component is None else H.render_with_component(overlay, component, tmp_path / "wrapper")
    routers = _routers(docs, overlay.name, "discovery")
    assert routers, f"{overlay.name} + {component.relative_to(H.REPO)} renders no router with --service-discovery"

    from sglang_router.launch_router import parse_router_args

    engines = H.find_engines(docs)
    for r in routers:
        what = f"{overlay.name} {r.workload}"
        # (a) the launcher's own parser (argparse + RouterArgs.from_cli_args)
        try:
            ra = parse_router_args(r.router_args())
        except SystemExit as e:  # argparse error
            pytest.fail(f"{what}: sglang-router {ROUTER_VERSION} rejects argv (exit {e.code}): {r.router_args()}")
        assert ra.service_discovery and ra.pd_disaggregation, f"{what}: {ra}"
        assert ra.prefill_selector and ra.decode_selector, f"{what}: PD discovery needs --prefill-selector and --decode-selector"
        # (b) the selectors pick the right LWS leaders (and only leaders: non-leader ranks serve no HTTP)
        for role, sel in (("prefill", ra.prefill_selector), ("decode", ra.decode_selector)):
            leaders = [e for e in engines if H.selects(sel, e.leader_labels)]
            assert leaders, f"{what}: --{role}-selector {sel} matches no LWS leader pod template"
            for e in leaders:
                assert e.mode == role, f"{what}: --{role}-selector {sel} matches LWS {e.lws} (mode {e.mode})"
                assert e.size == 1 or not H.selects(sel, e.worker_labels), (
                    f"{what}: --{role}-selector {sel} also matches worker pods of {e.lws} (size {e.size})"
                )
                assert e.port == ra.service_discovery_port, (
                    f"{what}: discovered {role} pods are dialled on --service-discovery-port "
                    f"{ra.service_discovery_port}, but {e.lws} serves on --port {e.port}"
                )
        # (c) bootstrap port: the router takes it from the prefill pod annotation, else decode's default
        prefill_leaders = [e for e in engines if H.selects(ra.prefill_selector, e.leader_labels)]
        decode_leaders = [e for e in engines if H.selects(ra.decode_selector, e.leader_labels)]
        for p in prefill_leaders:
            ann = p.leader_annotations.get(H.BOOTSTRAP_ANNOTATION)
            for d in decode_leaders:
                dialed = int(ann) if ann is not None else d.bootstrap_port
                assert dialed == p.bootstrap_port, (
                    f"{what}: decode {d.lws} would dial bootstrap port {dialed} (annotation "
                    f"{H.BOOTSTRAP_ANNOTATION}={ann!r}) but {p.lws} serves it on {p.bootstrap_port}"
                )
        # (d) the real router binary accepts it and gets as far as Kubernetes
        port, prom = H.free_port(), H.free_port()
        argv = H.rewrite_router_argv(r.argv, {}, port, prom, log_dir=tmp_path / "router-logs")
        home = tmp_path / "home"
        home.mkdir(exist_ok=True)
        env = H.clean_env(KUBECONFIG=str(tmp_path / "no-such-kubeconfig"), HOME=str(home))
        with H.RouterProcess(argv, env, tmp_path / "router-sd.log", port) as router:
            m = router.wait_log(r"Failed to start service discovery: (.*)", deadline_s=STARTUP_DEADLINE_S)
            log = router.log()
        assert "kubeconfig" in m.group(1) or "in-cluster" in m.group(1), m.group(0)
        assert "usage:" not in log and "error: argument" not in log, log[-2000:]
        assert "mode: PrefillDecode" in log, f"{what}: router did not start in PD mode:\n{log[-2000:]}"
