"""pdcheck on an untrusted pull request (issue #14): each attack reproduced with fixtures made here.

Remote servers are local (127.0.0.1, port 0); every subprocess and every wait is bounded, so an
attack that works again fails the test instead of hanging it.
"""

from __future__ import annotations

import http.server
import json
import re
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from pdcheck import children
from pdcheck.cache import ClosureHasher, Uncacheable
from pdcheck.errors import InputError
from pdcheck.kustomizations import KustomizationReader, remote_form
from pdcheck.report.escape import printable
from test_checkcache import CRD as CHECKCACHE_CRD

REPO = Path(__file__).resolve().parents[1]
LIMIT_S = 60  # per subprocess: every case here finishes in a few seconds, a regression hangs to this
PAGEMAP = Path("/proc/self/pagemap")

CONFIGMAP = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\ndata: {{a: b}}\n"
BROKEN = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\nbogus: 1\n"  # one schema error


def pdcheck(*args, cwd: Path, env: dict | None = None, timeout: float = LIMIT_S) -> subprocess.CompletedProcess:
    full_env = {**os.environ, "PYTHONPATH": str(REPO / "tools"), "NO_COLOR": "1", **(env or {})}
    return subprocess.run([sys.executable, "-m", "pdcheck", *args], cwd=cwd, env=full_env, capture_output=True,
                          text=True, timeout=timeout, stdin=subprocess.DEVNULL)


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def assert_one_line_error(proc, *needles) -> str:
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr
    errors = [ln for ln in proc.stderr.splitlines() if ln.startswith("pdcheck: error:")]
    assert len(errors) == 1, proc.stderr
    for needle in needles:
        assert needle in errors[0], (needle, errors[0])
    return errors[0]


# --- 1. no network -------------------------------------------------------------------------------

class Server:
    """A loopback HTTP server that logs requests; mode 'serve' answers YAML, 'hang' never answers."""

    def __init__(self, mode: str = "serve"):
        self.requests: list[str] = []
        self.release = threading.Event()
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                owner.requests.append(self.path)
                if mode == "hang":
                    owner.release.wait(LIMIT_S)
                    return
                body = CONFIGMAP.format(name="fetched").encode()
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server():
    s = Server()
    yield s
    s.close()


@pytest.fixture
def hanging_server():
    s = Server("hang")
    yield s
    s.close()


def remote_tree(root: Path, where: str, url: str) -> Path:
    """An overlay whose closure names `url` in `where`; returns the overlay."""
    local = {"cm.yaml": CONFIGMAP.format(name="local")}
    overlay_k = "resources: [cm.yaml, ../base]\n"
    base_k = "resources: [cm.yaml]\n"
    component_k = "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\ncommonAnnotations: {c: d}\n"
    if where == "resources":
        overlay_k = f"resources: [cm.yaml, ../base, {url}]\n"
    elif where == "base":  # deep in the closure, not in the overlay itself
        base_k = f"resources:\n- cm.yaml\n- {url}\n"
    elif where == "component":
        component_k += f"resources: [{url}]\n"
    elif where == "patch":
        overlay_k += f"patches:\n- path: {url}\n"
    elif where == "generator-file":
        overlay_k += f"configMapGenerator:\n- name: g\n  files: [key={url}]\n"
    elif where == "trailing-document":  # the trailing '---' must not hide it
        overlay_k = f"resources: [cm.yaml, ../base, {url}]\n---\n"
    write(root, {
        "base/kustomization.yaml": base_k, "base/cm.yaml": CONFIGMAP.format(name="base"),
        "component/kustomization.yaml": component_k,
        "overlay/kustomization.yaml": overlay_k + "components: [../component]\n",
        **{f"overlay/{n}": t for n, t in local.items()},
    })
    return root / "overlay"


@pytest.mark.network_local  # a loopback HTTP server
@pytest.mark.parametrize("where", ["resources", "base", "component", "patch", "generator-file", "trailing-document"])
def test_remote_references_are_refused_before_rendering(where, server, tmp_path):
    url = f"{server.url}/x.yaml"
    overlay = remote_tree(tmp_path, where, url)
    for command in (["validate", str(overlay)], ["render", str(overlay)]):
        proc = pdcheck(*command, cwd=tmp_path)
        line = assert_one_line_error(proc, url, "kustomization.yaml", "--allow-remote")
        assert "fetched" not in proc.stdout + proc.stderr
    assert server.requests == [], "kustomize reached the server"
    assert line.count("\n") == 0


def test_a_remote_overlay_hides_no_other_input(tmp_path):
    """One overlay with a remote base is an input error; the overlay next to it is still checked."""
    write(tmp_path, {
        "overlays/remote/kustomization.yaml": "resources:\n- https://example.invalid/x.yaml\n",
        "overlays/local/kustomization.yaml": "resources: [cm.yaml]\n",
        "overlays/local/cm.yaml": CONFIGMAP.format(name="local"),
    })
    proc = pdcheck("validate", "--format", "json", "overlays", cwd=tmp_path)
    assert_one_line_error(proc, "example.invalid", "--allow-remote")
    report = json.loads(proc.stdout)
    assert [e["file"] for e in report["inputErrors"]] == ["overlays/remote/kustomization.yaml"]
    assert report["summary"]["inputs"] == ["overlays/local", "overlays/remote"]
    assert report["summary"]["inputErrors"] == 1


@pytest.mark.parametrize("entry", [
    "https://github.com/kubernetes-sigs/lws//config/default?ref=v0.6.0",
    "github.com/kubernetes-sigs/lws/config/default?ref=v0.6.0",
    "git@github.com:kubernetes-sigs/lws.git/config/default",
    "ssh://git@example.com/org/repo.git",
    "git::https://example.com/org/repo",
    "gh:kubernetes-sigs/lws",
    "example.com/org/repo.git//config?ref=main",
    "dev.azure.com/org/project/_git/repo/path",
    "file:///etc/passwd",
])
def test_git_forms_kustomize_accepts_are_remote(entry, tmp_path):
    assert remote_form(entry)
    write(tmp_path, {"ov/kustomization.yaml": f"resources:\n- '{entry}'\n"})
    assert_one_line_error(pdcheck("validate", "ov", cwd=tmp_path), entry)


@pytest.mark.parametrize("entry", ["../base", "base", "deploy.yaml", "./x.yaml", "v1.2/base", "../../profiles/router",
                                   "a@b", "github.com-notes", "my.git.files"])
def test_local_paths_are_not_remote(entry):
    assert remote_form(entry) is None


def test_helm_chart_repositories_are_remote(tmp_path):
    write(tmp_path, {"ov/kustomization.yaml": "helmCharts:\n- name: x\n  repo: https://charts.example.com\n"})
    assert_one_line_error(pdcheck("validate", "ov", cwd=tmp_path), "helmCharts[0].repo", "https://charts.example.com")


@pytest.mark.network_local  # a loopback HTTP server
def test_allow_remote_fetches(server, tmp_path):
    overlay = remote_tree(tmp_path, "resources", f"{server.url}/x.yaml")
    proc = pdcheck("render", "--allow-remote", str(overlay), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "name: fetched" in proc.stdout
    assert server.requests == ["/x.yaml"]


@pytest.mark.network_local  # a loopback HTTP server
def test_allow_remote_has_a_timeout(hanging_server, tmp_path):
    overlay = remote_tree(tmp_path, "resources", f"{hanging_server.url}/x.yaml")
    start = time.monotonic()
    proc = pdcheck("validate", "--no-cache", str(overlay), cwd=tmp_path,
                   env={"PDCHECK_ALLOW_REMOTE": "1", "PDCHECK_REMOTE_TIMEOUT": "3"})
    assert_one_line_error(proc, "did not finish within 3 s")
    assert hanging_server.requests, "the build never asked the server"
    assert time.monotonic() - start < LIMIT_S / 2


@pytest.mark.network_local  # a loopback HTTP server
def test_kustomize_runs_without_network_even_when_the_check_misses(monkeypatch, server, tmp_path):
    """Belt and braces: were remote.py to miss a form, kustomize's HTTP goes to the black-hole proxy
    (here the test server, standing in for it: it sees a proxy request for the foreign host)."""
    from pdcheck import remote, render
    from pdcheck.kustomize import kustomize_command

    write(tmp_path, {"ov/kustomization.yaml": "resources: [http://example.invalid/x.yaml]\n"})
    monkeypatch.setattr(remote, "has_remote", lambda overlay: False)
    monkeypatch.setattr(render, "BLACKHOLE_PROXY", server.url)
    render._kustomize_bytes(kustomize_command(None), tmp_path / "ov", "ov", origins=False)
    assert server.requests == ["http://example.invalid/x.yaml"]  # asked of the proxy, not of the host
    env = render._no_network_env()
    assert env["GIT_ALLOW_PROTOCOL"] == "none" and "NO_PROXY" not in env


# --- 2. output injection -------------------------------------------------------------------------

INJECTION = r"x\n::add-mask::secret\n::stop-commands::tok\n::error file=a::pwned\e]52;c;ZXZpbA==\a\e]0;title\a\e[2J\e[8mhidden\u202e ##[error]v1"


def _assert_clean(text: str, where: str):
    for bad in ("\x1b", "\x07", "\u202e", "##["):
        assert bad not in text, (where, bad)
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("::"):  # only pdcheck's own annotations, their properties escaped
            assert where == "github" and re.match(r"::(error|warning|notice) [^:]*::", stripped), (where, line)


@pytest.mark.parametrize("fmt", ["text", "github", "json", "sarif"])
def test_manifest_text_cannot_drive_terminals_or_ci(fmt, tmp_path):
    (tmp_path / "cm.yaml").write_text(f'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: "{INJECTION}"\nbogus: 1\n')
    proc = pdcheck("validate", "--no-cache", "--format", fmt, "cm.yaml", cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr
    _assert_clean(proc.stdout, fmt)
    _assert_clean(proc.stderr, fmt)
    if fmt == "text":
        assert "\\x1b]52;c;" in proc.stdout  # shown, not executed


@pytest.mark.parametrize("fmt", ["text", "github", "json"])
def test_directory_names_cannot_inject_into_stderr(fmt, tmp_path):
    name = "ov\n::error::dir\x1b[2J"
    write(tmp_path, {f"{name}/kustomization.yaml": "resources: [missing.yaml]\n"})
    proc = pdcheck("validate", "--no-cache", "--format", fmt, ".", cwd=tmp_path)
    assert proc.returncode == 2
    _assert_clean(proc.stderr, "stderr")
    assert "ov\\x0a::error::dir\\x1b[2J" in proc.stderr


def test_printable():
    assert printable("plain: a::b, 50%") == "plain: a::b, 50%"  # '::' inside a line is harmless (IPv6 too)
    assert printable("::add-mask::x") == "\\x3a:add-mask::x"
    assert printable("  ::error::x") == "  \\x3a:error::x"
    assert printable("a\nb\r\x1b[31m\x9b\u2028") == "a\\x0ab\\x0d\\x1b[31m\\x9b\\u2028"
    assert printable("a\nb", keep_line_breaks=True) == "a\nb"
    assert printable("x ##[set-env name=A]1") == "x #\\x23[set-env name=A]1"


# --- 3, 5, 6. the cache closure -------------------------------------------------------------------

def _clean_overlay(root: Path, kustomization_extra: str = "") -> Path:
    write(root, {
        "base/kustomization.yaml": "resources: [cm.yaml]\n",
        "base/cm.yaml": CONFIGMAP.format(name="base"),
        "overlay/kustomization.yaml": "resources: [../base]\n" + kustomization_extra,
    })
    return root / "overlay"


def test_strings_that_name_big_paths_are_not_hashed(tmp_path):
    """Annotations naming /, /usr or pagemap, and unreferenced symlinks to them, are not inputs."""
    overlay = _clean_overlay(tmp_path, "commonAnnotations: {a: /, b: /usr, c: /proc/self/pagemap, d: ../..}\n")
    (overlay / "root-link").symlink_to("/")
    (overlay / "pagemap-link").symlink_to(PAGEMAP)
    os.mkfifo(overlay / "fifo")
    files = ClosureHasher().closure_files(overlay)
    assert files and all(f.startswith(str(tmp_path.resolve())) for f in files), files
    cache = tmp_path / "cache"
    runs = [pdcheck("validate", "--cache-dir", str(cache), "--format", "json", str(overlay), cwd=tmp_path) for _ in range(2)]
    assert [r.returncode for r in runs] == [0, 0], runs[0].stderr
    assert runs[0].stdout == runs[1].stdout


def test_named_files_outside_the_root_are_not_hashed(tmp_path):
    """A path field naming /usr, pagemap or a symlink out of the directory: kustomize's load
    restrictor refuses it; pdcheck neither reads it nor caches (the build fails, exit 2)."""
    targets = ["/usr", "../../etc/passwd", "link-out"]
    if PAGEMAP.exists():
        targets.append(str(PAGEMAP))
    for i, target in enumerate(targets):
        overlay = _clean_overlay(tmp_path / str(i), f"configMapGenerator:\n- name: g\n  files: [{target}]\n")
        (overlay / "link-out").symlink_to(PAGEMAP if PAGEMAP.exists() else "/etc/passwd")
        with pytest.raises(Uncacheable):
            ClosureHasher().closure_files(overlay)
        proc = pdcheck("validate", "--cache-dir", str(tmp_path / "cache"), str(overlay), cwd=tmp_path)
        assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr


@pytest.mark.skipif(not PAGEMAP.exists(), reason="no /proc/self/pagemap on this platform")
def test_crd_setting_naming_pagemap(tmp_path):
    overlay = _clean_overlay(tmp_path)
    (tmp_path / ".pdcheck.yaml").write_text(f"crds: [{PAGEMAP}]\n")
    proc = pdcheck("validate", "--cache-dir", str(tmp_path / "cache"), str(overlay), cwd=tmp_path)
    assert_one_line_error(proc, str(PAGEMAP))


def test_alias_bomb_in_a_base_kustomization(tmp_path):
    bomb = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join([f'*{chr(97 + i)}'] * 9)}]\n" for i in range(8))
    overlay = _clean_overlay(tmp_path)
    (tmp_path / "base" / "kustomization.yaml").write_text("resources: [cm.yaml]\ncommonAnnotations:\n" +
                                                          textwrap.indent(bomb, "  "))
    proc = pdcheck("validate", "--cache-dir", str(tmp_path / "cache"), str(overlay), cwd=tmp_path)
    assert_one_line_error(proc, "base/kustomization.yaml", "alias")


def test_closure_bounds(monkeypatch, tmp_path):
    from pdcheck import cache

    overlay = _clean_overlay(tmp_path)
    for i in range(5):
        (overlay / f"extra{i}.txt").write_text("x")
    monkeypatch.setattr(cache, "MAX_CLOSURE_FILES", 4)
    with pytest.raises(Uncacheable, match="over 4 files"):
        ClosureHasher().closure_digest(overlay)
    monkeypatch.setattr(cache, "MAX_CLOSURE_FILES", 100)
    monkeypatch.setattr(cache, "MAX_FILE_BYTES", 2)
    with pytest.raises(Uncacheable, match="regular file of at most"):
        ClosureHasher().closure_digest(overlay)


def test_load_restrictor_off_or_plugins_on_is_never_cached(tmp_path):
    overlay = _clean_overlay(tmp_path)
    assert ClosureHasher(["kustomize", "build"]).closure_digest(overlay)
    for command in (["kustomize", "build", "--load-restrictor", "LoadRestrictionsNone"],
                    ["kubectl", "kustomize", "--load-restrictor=LoadRestrictionsNone"],
                    ["kustomize", "build", "--enable-alpha-plugins", "--enable-exec"]):
        with pytest.raises(Uncacheable):
            ClosureHasher(command).closure_digest(overlay)


@pytest.mark.parametrize("trailer", ["---\n", "---\n---\n", "---\nnamePrefix: ignored-\n"])
def test_trailing_documents_do_not_serve_stale_results(trailer, tmp_path):
    """kustomize reads the first document only; the closure must still see the base."""
    overlay = _clean_overlay(tmp_path)
    (overlay / "kustomization.yaml").write_text("resources: [../base]\n" + trailer)
    closure = KustomizationReader().closure(overlay)
    assert str((tmp_path / "base").resolve()) in closure.kustomization_dirs and not closure.doubts
    cache = str(tmp_path / "cache")
    assert pdcheck("validate", "--cache-dir", cache, str(overlay), cwd=tmp_path).returncode == 0
    (tmp_path / "base" / "cm.yaml").write_text(BROKEN.format(name="base"))
    cached = pdcheck("validate", "--cache-dir", cache, "--format", "json", str(overlay), cwd=tmp_path)
    fresh = pdcheck("validate", "--no-cache", "--format", "json", str(overlay), cwd=tmp_path)
    assert cached.returncode == fresh.returncode == 1
    assert cached.stdout == fresh.stdout


def test_timestamps_in_a_kustomization(tmp_path):
    overlay = _clean_overlay(tmp_path, "released: 2020-02-30\n")
    proc = pdcheck("validate", "--cache-dir", str(tmp_path / "cache"), str(overlay), cwd=tmp_path)
    assert_one_line_error(proc, "released")  # kustomize: unknown field "released"


# --- 4. ReDoS -------------------------------------------------------------------------------------

# The Widget CRD of the results-cache tests, its one field a string with a catastrophic pattern.
CRD = CHECKCACHE_CRD % "string, pattern: '^(a+)+$'"


@pytest.mark.parametrize("value, errors", [("a" * 34 + "!", 1), ("a" * 34, 0)])
def test_catastrophic_crd_pattern(value, errors, tmp_path):
    (tmp_path / "crd.yaml").write_text(CRD)
    (tmp_path / "w.yaml").write_text(f"apiVersion: example.com/v1\nkind: Widget\nmetadata: {{name: w}}\nspec: {{size: '{value}'}}\n")
    proc = pdcheck("validate", "--no-cache", "--crd", "crd.yaml", "--format", "json", "w.yaml", cwd=tmp_path)
    assert proc.returncode == (1 if errors else 0), proc.stderr
    messages = [f["message"] for f in json.loads(proc.stdout)["findings"]]
    assert len([m for m in messages if "does not match '^(a+)+$'" in m]) == errors, messages


def test_crd_patterns_use_re2():
    from pdcheck.schema.crd import convert
    from pdcheck.schema.regex import HAVE_RE2, searcher

    assert HAVE_RE2, "google-re2 is a dependency"
    assert searcher("^(a+)+$")("a" * 10_000 + "!") is False
    assert "pattern" not in convert({"type": "string", "pattern": "(a)\\1"})  # no backreferences in RE2 (or Go)
    assert convert({"type": "string", "pattern": "^\\p{L}+$"})["pattern"]  # Go syntax Python lacks


# --- 7, 8. usage errors ---------------------------------------------------------------------------

@pytest.mark.parametrize("args, env", [(["--kustomize", "'x"], {}), ([], {"PDCHECK_KUSTOMIZE": 'kubectl "x'})])
def test_unparseable_kustomize_command(args, env, tmp_path):
    overlay = _clean_overlay(tmp_path)
    proc = pdcheck("validate", *args, str(overlay), cwd=tmp_path, env=env)
    assert_one_line_error(proc, "cannot parse the kustomize command", "No closing quotation")


@pytest.mark.parametrize("option, program", [("--sglang-version", "sglang"), ("--router-version", "sglang-router")])
def test_unknown_catalog_version_is_a_usage_error(option, program, tmp_path):
    from pdcheck.catalog import available_versions

    overlay = _clean_overlay(tmp_path)
    proc = pdcheck("validate", option, "0.0.0", str(overlay), cwd=tmp_path)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "0.0.0" in proc.stderr and all(v in proc.stderr for v in available_versions(program))
    (tmp_path / ".pdcheck.yaml").write_text(f"{option[2:]}: 0.0.0\n")
    assert_one_line_error(pdcheck("validate", str(overlay), cwd=tmp_path), ".pdcheck.yaml", available_versions(program)[0])


# --- 10. linear source lookup ---------------------------------------------------------------------

def test_source_lookup_is_linear_in_findings(monkeypatch, tmp_path):
    """Locating N objects of one file reads each document a bounded number of times."""
    from pdcheck import sources
    from pdcheck.objects import K8sObject, Origin

    n = 2000
    path = tmp_path / "many.yaml"
    path.write_text("".join(f"---\n{CONFIGMAP.format(name=f'c{i:05d}')}" for i in range(n)))
    calls = [0]
    real_name = sources._name

    def counting(*args):
        calls[0] += 1
        return real_name(*args)

    monkeypatch.setattr(sources, "_name", counting)
    sources._load.cache_clear()
    objects = [K8sObject({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"p-c{i:05d}"}}, i, Origin(file=str(path)))
               for i in range(n)]  # namePrefix'd: no exact match, found through the name inside
    lines = [sources.locate(o, ("data",)) for o in objects]
    assert lines[0] == (str(path), 6) and lines[-1] == (str(path), 6 * n)
    assert calls[0] <= 3 * n


# --- 11, 12. the kustomize subprocess --------------------------------------------------------------

SLOW_KUSTOMIZE = """\
#!/bin/sh
# Fails a direct build at once; through the wrapper it sleeps (with a grandchild), like a slow build.
case "$2" in
  */pdcheck-*) echo $$ > "{pids}/kustomize.$$"; sleep 60 & echo $! > "{pids}/grandchild.$$"; wait ;;
  *) echo "Error: direct build fails" >&2; exit 1 ;;
esac
"""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie (exited, not yet reaped by init) is gone for our purposes
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"
    except OSError:
        return True


def _wait_for(predicate, what: str, limit: float = LIMIT_S):
    deadline = time.monotonic() + limit
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


@pytest.mark.parametrize("sig, overlays", [(signal.SIGTERM, 1), (signal.SIGINT, 1), (signal.SIGTERM, 2)])
def test_signals_kill_kustomize_and_remove_wrappers(sig, overlays, tmp_path):
    """One overlay builds in the main thread, two in worker threads: either way a signal takes the
    builds (in their own sessions, out of the terminal's reach) and the wrapper directories along."""
    pids, tmp = tmp_path / "pids", tmp_path / "tmp"
    pids.mkdir()
    tmp.mkdir()
    fake = tmp_path / "kustomize"
    fake.write_text(SLOW_KUSTOMIZE.format(pids=pids))
    fake.chmod(0o755)
    paths = [str(_clean_overlay(tmp_path / str(i))) for i in range(overlays)]
    env = {**os.environ, "PYTHONPATH": str(REPO / "tools"), "TMPDIR": str(tmp)}
    proc = subprocess.Popen([sys.executable, "-m", "pdcheck", "validate", "--no-cache", "--kustomize", str(fake), *paths],
                            cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    try:
        _wait_for(lambda: len([p for p in pids.glob("grandchild.*") if p.read_text().strip()]) == overlays, "the slow builds")
        assert list(tmp.glob("pdcheck-*"))
        proc.send_signal(sig)
        proc.wait(timeout=LIMIT_S)
    finally:
        proc.kill()
        proc.wait()
    assert proc.returncode != 0 and b"Traceback" not in proc.stderr.read()
    for pid_file in sorted(pids.iterdir()):
        pid = int(pid_file.read_text())
        _wait_for(lambda: not _alive(pid), f"{pid_file.name} to die")
    assert list(tmp.glob("pdcheck-*")) == []


def test_wrappers_of_killed_runs_are_swept(tmp_path, monkeypatch):
    monkeypatch.setattr(children.tempfile, "gettempdir", lambda: str(tmp_path))
    dead = subprocess.Popen(["true"])
    dead.wait()
    stale = tmp_path / f"pdcheck-{dead.pid}-abc"
    live = tmp_path / f"pdcheck-{os.getppid()}-abc"  # a running process' wrapper
    fresh = tmp_path / f"pdcheck-{dead.pid}-new"
    for d in (stale, live, fresh):
        d.mkdir()
        (d / "kustomization.yaml").write_text("resources: []\n")
    old = time.time() - 2 * children.STALE_WRAPPER_S
    for d in (stale, live):
        os.utime(d, (old, old))
    children.sweep_stale_wrappers()
    assert not stale.exists() and live.exists() and fresh.exists()


def test_kustomize_errors_keep_the_cause(tmp_path):
    fake = tmp_path / "kustomize"
    cause = "the real cause: file deep/inside/patch.yaml not found"
    fake.write_text("#!/bin/sh\necho '# Warning: bases is deprecated' >&2\n"
                    f"echo 'Error: accumulating resources: {'layer of context, ' * 60}{cause}' >&2\nexit 1\n")
    fake.chmod(0o755)
    overlay = _clean_overlay(tmp_path)
    line = assert_one_line_error(pdcheck("validate", "--no-cache", "--kustomize", str(fake), str(overlay), cwd=tmp_path), cause)
    assert "Warning" not in line and len(line) < 5000


def test_long_real_kustomize_error_keeps_the_cause(tmp_path):
    chain = [f"level{i}" for i in range(12)]
    files = {f"{d}/kustomization.yaml": f"resources: [../{chain[i + 1]}]\n" for i, d in enumerate(chain[:-1])}
    files[f"{chain[-1]}/kustomization.yaml"] = "resources: [missing-file-at-the-bottom.yaml]\n"
    write(tmp_path, files)
    line = assert_one_line_error(pdcheck("validate", "--no-cache", "level0", cwd=tmp_path), "missing-file-at-the-bottom.yaml")
    assert len(line) > 400


@pytest.mark.parametrize("name", ["prod #1", "a: b", "x, [y]", "q'uote\"", "*star &amp"])
def test_odd_overlay_names_keep_file_and_line(name, tmp_path):
    write(tmp_path, {f"{name}/kustomization.yaml": "resources: [cm.yaml]\n", f"{name}/cm.yaml": BROKEN.format(name="c")})
    proc = pdcheck("validate", "--no-cache", "--format", "json", name, cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr
    [finding] = json.loads(proc.stdout)["findings"]
    assert (finding["file"], finding["line"]) == (f"{name}/cm.yaml", 5)
