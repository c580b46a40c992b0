"""Rendering inputs into objects: kustomize for directories, plain YAML for files and stdin."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import tempfile
import threading
from concurrent.futures import CancelledError, Future, ThreadPoolExecutor
from pathlib import Path
from typing import Iterator

import yaml

from .discover import Input, display_path
from .errors import InputError
from .kustomize import kustomize_command
from .objects import ORIGIN_ANNOTATION, K8sObject, Origin, Render
from .yamlio import decode, load_documents, read_text

RENDER_TIMEOUT_S = 120  # a render takes ~0.2 s; anything near this is a hung plugin or filesystem


def _render_timeout() -> float:
    try:
        return float(os.environ.get("PDCHECK_RENDER_TIMEOUT", RENDER_TIMEOUT_S))
    except ValueError:
        return RENDER_TIMEOUT_S


# Belt and braces for the no-network default (remote.py refuses remote references before any
# build): kustomize's HTTP client and git take their proxy from the environment, so a reference the
# check missed goes to a port where nothing listens (Go does not proxy loopback addresses).
BLACKHOLE_PROXY = "http://127.0.0.1:9"
MAX_ERROR_CHARS = 4000  # kustomize's message, start and end kept: the cause is at the end


def _no_network_env() -> dict[str, str]:
    env = dict(os.environ)
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        env[name] = BLACKHOLE_PROXY
    for name in ("NO_PROXY", "no_proxy"):
        env.pop(name, None)
    env["GIT_ALLOW_PROTOCOL"] = "none"  # git clones nothing (no protocol of that name)
    env["GIT_TERMINAL_PROMPT"] = "0"
    return env


def run_kustomize(command: list[str], overlay: Path, display: str) -> tuple[str, Path]:
    """Build `overlay` through a temporary wrapper that adds origin annotations.

    Returns the YAML and the wrapper's directory, which origin paths are relative to.
    """
    stdout, wrapper = _kustomize_bytes(command, overlay, display, origins=True)
    return decode(stdout, display), Path(wrapper)


def _kustomize_bytes(command: list[str], overlay: Path, display: str, origins: bool) -> tuple[bytes, str]:
    """kustomize's stdout and the directory origin paths are relative to ('' without origins).

    With origins, the overlay is built through a temporary wrapper kustomization that turns on
    origin annotations (which makes kustomize ~50% slower). Without, the overlay is built directly;
    if that fails it is built again through the wrapper, so error messages are the same either way.

    An overlay whose closure names remote targets got here only with --allow-remote (remote.py):
    it is built with the network and PDCHECK_REMOTE_TIMEOUT; every other build without network.
    """
    from .remote import has_remote, remote_timeout

    remote = has_remote(overlay)
    timeout = min(remote_timeout(), _render_timeout()) if remote else _render_timeout()
    env = None if remote else _no_network_env()
    if not origins:
        try:
            return _spawn(command + [str(overlay)], display, timeout, env), ""
        except _BuildFailed:
            pass
    from .children import wrapper_prefix

    with tempfile.TemporaryDirectory(prefix=wrapper_prefix()) as wrapper:
        rel = os.path.relpath(overlay, wrapper)
        # Kustomize rejects absolute paths in resources; a relative one from the temp dir works.
        # Written with the YAML library: directory names such as 'prod #1' or 'a: b' stay one path.
        Path(wrapper, "kustomization.yaml").write_text(
            yaml.safe_dump({"resources": [rel], "buildMetadata": ["originAnnotations"]}), encoding="utf-8"
        )
        try:
            return _spawn(command + [wrapper], display, timeout, env), wrapper
        except _BuildFailed as failed:
            raise InputError(display, "kustomize build failed: " + _kustomize_error(failed.stderr, wrapper, overlay)) from None


class _BuildFailed(Exception):
    def __init__(self, stderr: bytes):
        self.stderr = stderr


def _spawn(argv: list[str], display: str, timeout: float | None = None, env: dict | None = None) -> bytes:
    from . import children

    timeout = _render_timeout() if timeout is None else timeout
    try:
        # Own process group, so a timeout also stops whatever kustomize started (exec plugins).
        proc = subprocess.Popen(
            argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL, start_new_session=True, env=env,
        )
    except FileNotFoundError:
        raise InputError(argv[0], "kustomize/kubectl binary not found") from None
    except PermissionError:
        raise InputError(argv[0], "kustomize/kubectl binary is not executable") from None
    except OSError as exc:
        raise InputError(argv[0], f"cannot run: {exc.strerror or exc}") from None
    try:
        children.register(proc.pid)
    except children.Stopping:
        proc.communicate()
        raise InputError(display, "pdcheck is stopping; build not run") from None
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        raise InputError(display, f"kustomize did not finish within {timeout:g} s") from None
    except BaseException:  # Ctrl-C or SIGTERM (SystemExit) while this thread waits: take kustomize along
        _kill_group(proc)
        raise
    finally:
        children.unregister(proc.pid)
    if proc.returncode != 0:
        raise _BuildFailed(stderr)
    return stdout


def _kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        proc.communicate(timeout=5)
    except subprocess.TimeoutExpired:
        pass


_WRAPPER_LAYER = re.compile(
    r"^accumulating resources: accumulation err='accumulating resources from '[^']*': "
    r"'[^']*' must resolve to a file': recursed accumulation of path '[^']*': "
)


def _kustomize_error(stderr: bytes, wrapper: str, overlay: Path) -> str:
    """kustomize's error as one line: every line of it (the cause is usually last), the wrapper's
    own layer dropped, bounded to MAX_ERROR_CHARS by cutting the middle."""
    text = stderr.decode("utf-8", "replace").strip()
    text = text.replace(wrapper, "<pdcheck-wrapper>")
    lines = [ln.strip().removeprefix("Error: ").removeprefix("error: ") for ln in text.splitlines()]
    lines = [ln for ln in lines if ln and not ln.startswith("# Warning:")]  # deprecation notes
    message = " | ".join(lines) if lines else "no error message"
    # Drop the layer our wrapper adds, so the message starts at the user's own kustomization.
    message = _WRAPPER_LAYER.sub("", message, count=1)
    if len(message) > MAX_ERROR_CHARS:
        head = MAX_ERROR_CHARS // 4
        message = message[:head] + " [...] " + message[-(MAX_ERROR_CHARS - head):]
    return message


def _origin_from(doc: dict, wrapper_base: Path) -> Origin:
    meta = doc.get("metadata") if isinstance(doc.get("metadata"), dict) else None
    annotations = meta.get("annotations") if meta else None
    if not isinstance(annotations, dict) or ORIGIN_ANNOTATION not in annotations:
        return Origin()
    raw = annotations.pop(ORIGIN_ANNOTATION)
    if not annotations:
        del meta["annotations"]
    try:
        info = yaml.safe_load(raw) if isinstance(raw, str) else None
    except yaml.YAMLError:
        info = None
    if not isinstance(info, dict):
        return Origin()
    if isinstance(info.get("path"), str):
        return Origin(file=display_path((wrapper_base / info["path"]).resolve()))
    if isinstance(info.get("configuredIn"), str):
        kfile = display_path((wrapper_base / info["configuredIn"]).resolve())
        return Origin(file=kfile, generated_by=kfile)
    return Origin()


def objects_from_stream(text: str, name: str, origin_base: Path | None, *, origins: bool = True) -> tuple[list[K8sObject], list[tuple[int, int, str]]]:
    """Split a YAML stream into objects. With origin_base, origins come from kustomize annotations.

    origins=False: a kustomize render without annotations; origins stay unknown (see ensure_origins).
    """
    objects, non_objects = [], []
    for doc in load_documents(text, name):
        if doc.data is None:
            continue
        if not isinstance(doc.data, dict):
            non_objects.append((doc.index, doc.line, type(doc.data).__name__))
            continue
        if doc.data.get("kind") == "List" and isinstance(doc.data.get("items"), list):
            items = doc.data["items"]
        else:
            items = [doc.data]
        for item in items:
            if not isinstance(item, dict):
                non_objects.append((doc.index, doc.line, type(item).__name__))
                continue
            if not origins:
                origin = Origin()
            elif origin_base is not None:
                origin = _origin_from(item, origin_base)
            else:
                origin = Origin(file=name, doc_index=doc.index, doc_line=doc.line)
            objects.append(K8sObject(item, len(objects), origin, doc.duplicates))
    return objects, non_objects


def render_input(item: Input, command: list[str] | None, cache=None, hasher=None, tool_version: str = "",
                 lazy_origins: bool = False) -> Render:
    """Render one input. lazy_origins: build kustomize overlays without origin annotations (faster);
    ensure_origins() adds them later, for the renders that have findings to place."""
    if item.kind == "kustomize":
        stdout, wrapper = _render_kustomize(item, command, cache, hasher, tool_version, origins=not lazy_origins)
        text = decode(stdout, item.display)
        annotated = bool(wrapper)  # built through the wrapper: origins are in the output
        objects, non_objects = objects_from_stream(text, item.display, Path(wrapper) if annotated else None,
                                                   origins=annotated)
        if not objects and not non_objects:
            raise InputError(item.display, "renders no Kubernetes objects")
        render = Render(item.display, "kustomize", objects, non_objects)
        if not annotated:
            # Private: what ensure_origins needs to render again with annotations.
            render._origin_source = (item, command, cache, hasher, tool_version)
        return render
    text = read_text("-" if item.kind == "stdin" else item.path)
    objects, non_objects = objects_from_stream(text, item.display, None)
    if not objects and not non_objects:
        raise InputError(item.display, "contains no Kubernetes objects")
    return Render(item.display, item.kind, objects, non_objects)


def _render_kustomize(item: Input, command: list[str], cache, hasher, tool_version, origins: bool) -> tuple[bytes, str]:
    """kustomize output for an overlay, from the cache when every input is unchanged.

    tool_version: the kustomize version text, or a Future of it while `kubectl version` runs for
    the first time; until it is known nothing can be in the cache for this binary, so the overlay
    is built at once and stored once the version arrives.
    """
    closure = None
    if cache is not None:
        from .cache import Uncacheable

        try:
            closure = hasher.closure_digest(item.path)  # before kustomize reads the files
        except Uncacheable:
            pass  # built every time
    mode = "origins" if origins else "bare"
    if closure is not None:
        pending = isinstance(tool_version, Future) and not tool_version.done()
        version = None if pending else tool_version.result() if isinstance(tool_version, Future) else tool_version
        entry = cache.get(hasher.render_key(item.path, command, version, mode, closure)) if version else None
        if entry is not None:
            return entry
        if not version:
            cache.stats["miss"] += 1  # (cache.get counts the others)
    stdout, wrapper = _kustomize_bytes(command, item.path, item.display, origins)
    if closure is not None:
        version = tool_version.result() if isinstance(tool_version, Future) else tool_version
        if version:
            cache.put(hasher.render_key(item.path, command, version, mode, closure), stdout, wrapper)
    return stdout, wrapper


def ensure_origins(render: Render) -> None:
    """Give the objects of a lazily rendered overlay their origins (file each came from).

    Renders the overlay again with origin annotations (or takes that render from the cache, or
    from RenderStream.prefetch_origins) and copies each object's origin across; objects are
    matched by position, checked by identity.
    """
    source = getattr(render, "_origin_source", None)
    if source is None:
        return
    future = getattr(render, "_origin_future", None)
    annotated = None
    if future is not None:
        try:
            annotated = future.result()
        except CancelledError:
            annotated = None
    if annotated is None:
        annotated = _annotated_objects(source)
    del render._origin_source
    render.__dict__.pop("_origin_future", None)
    if annotated is None:
        return  # it built a moment ago; without origins the findings just carry no file
    if len(annotated) == len(render.objects) and all(a.doc == o.doc for a, o in zip(annotated, render.objects)):
        for a, o in zip(annotated, render.objects):
            o.origin = a.origin
        return
    by_identity = {_identity(a.doc): a.origin for a in annotated}
    for o in render.objects:
        o.origin = by_identity.get(_identity(o.doc), o.origin)


def _annotated_objects(source) -> list[K8sObject] | None:
    item, command, cache, hasher, tool_version = source
    try:
        stdout, wrapper = _render_kustomize(item, command, cache, hasher, tool_version, origins=True)
        return objects_from_stream(decode(stdout, item.display), item.display, Path(wrapper))[0]
    except InputError:
        return None


def _identity(doc: dict) -> tuple:
    meta = doc.get("metadata") if isinstance(doc.get("metadata"), dict) else {}
    return (str(doc.get("apiVersion")), str(doc.get("kind")), str(meta.get("namespace")), str(meta.get("name")))


def render_all(inputs: list[Input], kustomize: str | None = None, jobs: int | None = None, cache=None,
               lazy_origins: bool = False) -> list[Render]:
    """Render every input, kustomize builds in parallel; order follows the inputs.

    cache: a cache.RenderCache (None: always run kustomize). lazy_origins: see render_input.
    """
    return list(render_iter(inputs, kustomize, jobs, cache, lazy_origins))


def render_iter(inputs: list[Input], kustomize: str | None = None, jobs: int | None = None, cache=None,
                lazy_origins: bool = False, hasher=None) -> "RenderStream":
    """As render_all, but the builds start at once (in worker threads) and renders are yielded in
    input order as they finish, so the caller can check one while kustomize builds the next.
    hasher: a cache.ClosureHasher that has already read these kustomizations (checkcache.py)."""
    command = kustomize_command(kustomize) if any(i.kind == "kustomize" for i in inputs) else None
    tool_version = ""
    if cache is not None and command is not None:
        from .cache import ClosureHasher

        hasher = hasher or ClosureHasher(command)
        tool_version = cache.tool_version(command, ask=False)
        if tool_version is None:  # first use of this binary: ask its version alongside the builds
            tool_version = Future()
            threading.Thread(target=_ask_tool_version, args=(cache, command, tool_version), daemon=True).start()

    lazy = [lazy_origins]  # RenderStream.prefetch_origins turns it off for builds not started yet

    def one(item: Input) -> Render:
        return render_input(item, command, cache, hasher, tool_version, lazy[0])

    workers = max(1, min(len(inputs), jobs or os.cpu_count() or 2))
    return RenderStream(one, inputs, workers, lazy)


def _ask_tool_version(cache, command: list[str], future: Future) -> None:
    try:
        future.set_result(cache.tool_version(command, timeout=min(10.0, _render_timeout())))
    except Exception:  # no version, no caching; the render reports what is wrong with the binary
        future.set_result(None)


class RenderStream:
    """Renders in input order; with several workers the builds start at construction.

    Iterate it for the renders; close() (or leaving a `with` block) drops work not started yet.
    """

    def __init__(self, render_one, inputs: list[Input], workers: int, lazy: list[bool] | None = None):
        self._render_one, self._inputs, self._futures, self._pool = render_one, inputs, None, None
        self._lazy = lazy if lazy is not None else [False]
        if workers > 1 and len(inputs) > 1:
            self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="pdcheck-render")
            self._futures = [self._pool.submit(render_one, i) for i in inputs]

    def __iter__(self) -> Iterator[Render]:
        if self._futures is None:
            return (self._render_one(i) for i in self._inputs)
        return (f.result() for f in self._futures)

    def prefetch_origins(self, render: Render) -> None:
        """Start the annotated build ensure_origins() will need, on the render workers (after the
        builds still queued), so several overlays with findings are built side by side.

        An overlay with findings suggests its siblings have some too: the builds not started yet
        are made with origin annotations right away (one build each instead of two).
        """
        self._lazy[0] = False
        source = getattr(render, "_origin_source", None)
        if self._pool is None or source is None or getattr(render, "_origin_future", None) is not None:
            return
        try:
            render._origin_future = self._pool.submit(_annotated_objects, source)
        except RuntimeError:  # closed
            pass

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)  # running builds finish, queued ones are dropped

    def __enter__(self) -> "RenderStream":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
