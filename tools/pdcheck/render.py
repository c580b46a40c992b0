"""Rendering inputs into objects: kustomize for directories, plain YAML for files and stdin."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import tempfile
import threading
from concurrent.futures import Future, ThreadPoolExecutor
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

    origins=False: a kustomize render without annotations; origins stay unknown (see Renderer.origins).
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


def render_input(item: Input, kustomize: "CachedKustomize | None" = None, annotate: bool = True) -> Render:
    """Render one input. Overlays are built by `kustomize`; annotate=False builds them without
    origin annotations (faster), so their objects carry no origins (Render.has_origins False)."""
    if item.kind == "kustomize":
        stdout, wrapper = kustomize.build(item, annotate)
        text = decode(stdout, item.display)
        annotated = bool(wrapper)  # built through the wrapper: origins are in the output
        objects, non_objects = objects_from_stream(text, item.display, Path(wrapper) if annotated else None,
                                                   origins=annotated)
        if not objects and not non_objects:
            raise InputError(item.display, "renders no Kubernetes objects")
        return Render(item.display, "kustomize", objects, non_objects, has_origins=annotated)
    text = read_text("-" if item.kind == "stdin" else item.path)
    objects, non_objects = objects_from_stream(text, item.display, None)
    if not objects and not non_objects:
        raise InputError(item.display, "contains no Kubernetes objects")
    return Render(item.display, item.kind, objects, non_objects)


class CachedKustomize:
    """kustomize builds of overlays, from the render cache when every input is unchanged: the
    renderer's one caching seam (cache None: always build).

    hasher: a cache.ClosureHasher that has already read these kustomizations (checkcache.py).
    The kustomize version is part of every key; the first time a binary is used, `kubectl version`
    runs alongside the first builds, which are built at once and stored when the version arrives.
    """

    def __init__(self, command: list[str], cache=None, hasher=None):
        self.command, self.cache = command, cache
        self.hasher = None
        self._version: str | Future | None = None
        if cache is not None:
            from .cache import ClosureHasher

            self.hasher = hasher or ClosureHasher(command)
            self._version = cache.tool_version(command, ask=False)
            if self._version is None:
                self._version = Future()
                threading.Thread(target=self._ask_version, args=(self._version,), daemon=True).start()

    def _ask_version(self, future: Future) -> None:
        try:
            future.set_result(self.cache.tool_version(self.command, timeout=min(10.0, _render_timeout())))
        except Exception:  # no version, no caching; the render reports what is wrong with the binary
            future.set_result(None)

    def _known_version(self, wait: bool) -> str | None:
        if isinstance(self._version, Future):
            return self._version.result() if wait or self._version.done() else None
        return self._version

    def build(self, item: Input, annotate: bool) -> tuple[bytes, str]:
        """kustomize's stdout and the directory origin paths are relative to ('' without annotations)."""
        closure = None
        if self.cache is not None:
            from .cache import Uncacheable

            try:
                closure = self.hasher.closure_digest(item.path)  # before kustomize reads the files
            except Uncacheable:
                pass  # built every time
        mode = "origins" if annotate else "bare"
        if closure is not None:
            version = self._known_version(wait=False)
            if version:
                entry = self.cache.get(self.hasher.render_key(item.path, self.command, version, mode, closure))
                if entry is not None:
                    return entry
            else:
                self.cache.stats["miss"] += 1  # (cache.get counts the others)
        stdout, wrapper = _kustomize_bytes(self.command, item.path, item.display, annotate)
        if closure is not None:
            version = self._known_version(wait=True)
            if version:
                self.cache.put(self.hasher.render_key(item.path, self.command, version, mode, closure), stdout, wrapper)
        return stdout, wrapper


def _matched_origins(render: Render, annotated: list[K8sObject]) -> list[Origin]:
    """The origins of render.objects, from an annotated build of the same overlay: objects are
    matched by position, checked by identity."""
    if len(annotated) == len(render.objects) and all(a.doc == o.doc for a, o in zip(annotated, render.objects)):
        return [a.origin for a in annotated]
    by_identity = {_identity(a.doc): a.origin for a in annotated}
    return [by_identity.get(_identity(o.doc), o.origin) for o in render.objects]


def _identity(doc: dict) -> tuple:
    meta = doc.get("metadata") if isinstance(doc.get("metadata"), dict) else {}
    return (str(doc.get("apiVersion")), str(doc.get("kind")), str(meta.get("namespace")), str(meta.get("name")))


def render_all(inputs: list[Input], kustomize: str | None = None, jobs: int | None = None, cache=None,
               annotate: bool = False) -> list[Render]:
    """Render every input (see Renderer); order follows the inputs."""
    command = kustomize_command(kustomize) if any(i.kind == "kustomize" for i in inputs) else None
    with Renderer(inputs, command, jobs, cache, annotate=annotate) as renderer:
        return list(renderer)


class Renderer:
    """Renders a run's inputs: builds start at construction, on `jobs` worker threads, and
    iterating yields the renders in input order as they finish, so the caller can check one while
    kustomize builds the next. Leaving the `with` block drops the builds not started yet.

    Origins (the file each object came from) cost time: kustomize is ~50% slower with origin
    annotations. With annotate=True every overlay is built with them. Otherwise overlays are built
    without, and origins(render) asks for them: it builds that overlay again, annotated, on the
    workers. Findings in one overlay suggest findings in its siblings, so once an overlay has been
    asked for, the overlays whose build has not started yet are built annotated straight away (one
    build each instead of two).

    command: kustomize_command()'s, None when no input is an overlay. cache/hasher: see CachedKustomize.
    """

    def __init__(self, inputs: list[Input], command: list[str] | None, jobs: int | None = None, cache=None,
                 hasher=None, annotate: bool = False):
        self._kustomize = CachedKustomize(command, cache, hasher) if command is not None else None
        self._annotate = annotate
        self._inputs = inputs
        self._input_of: dict[int, tuple[Render, Input]] = {}  # id(render) -> (the render, its input)
        workers = max(1, min(len(inputs), jobs or os.cpu_count() or 2))
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="pdcheck-render")
        # self._annotate is read when each build starts, not now (see origins()).
        self._futures = [self._pool.submit(lambda item: render_input(item, self._kustomize, self._annotate), item)
                         for item in inputs]

    def __iter__(self) -> Iterator[Render]:
        """The renders; the first input that cannot be rendered raises its InputError."""
        for outcome in self.outcomes():
            if isinstance(outcome, InputError):
                raise outcome
            yield outcome

    def outcomes(self) -> Iterator[Render | InputError]:
        """Per input, in order: its Render, or the InputError that says why it cannot be rendered."""
        for item, future in zip(self._inputs, self._futures):
            try:
                render = future.result()
            except InputError as err:
                yield err
                continue
            self._input_of[id(render)] = (render, item)  # the render is kept, so its id stays unique
            yield render

    def origins(self, render: Render) -> Future:
        """A Future of the origins of render.objects (a list, in their order; None when the
        annotated build failed: then findings carry no file). Does not change the render.
        Wait for it inside the `with` block (leaving it drops queued work)."""
        if render.has_origins:
            done = Future()
            done.set_result([o.origin for o in render.objects])
            return done
        self._annotate = True  # see the class doc: later builds are made annotated straight away
        return self._pool.submit(self._annotated_origins, render, self._input_of[id(render)][1])

    def _annotated_origins(self, render: Render, item: Input) -> list[Origin] | None:
        try:
            annotated = render_input(item, self._kustomize, annotate=True)
        except InputError:
            return None  # it built a moment ago; without origins the findings just carry no file
        return _matched_origins(render, annotated.objects)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)  # running builds finish, queued ones are dropped

    def __enter__(self) -> "Renderer":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
