"""Content-addressed cache of kustomize renders (and the store of the results cache).

A render is a pure function of (a) every file the kustomization can read, (b) the kustomize
command and its version, (c) how pdcheck invokes it. The key hashes all of these:

- the kustomization closure: every kustomization directory reached through resources, bases and
  components (recursively), and every path any string in those kustomizations names (patches,
  generator files/envs, openapi schema, configurations, crds, replacements, transformers...).
  Directories are hashed whole, recursively (file names and contents); files outside them by
  content. Over-approximating is deliberate: an unrelated edit next to a kustomization costs one
  re-render, a missed input would serve a stale render;
- the overlay's absolute path (origin annotations are relative paths), the command, the output of
  `<tool> version` (itself cached, keyed on the binary's path, mtime and size), pdcheck's version
  and the cache format.

Kustomizations with remote resources, Helm charts or KRM function plugins are never cached: their
inputs are not all on this disk.

Entries are written to a temporary file in the cache directory and renamed into place
(os.replace, atomic), so concurrent runs never see a partial entry; every entry carries the
SHA-256 of its payload, so a corrupt or truncated one is a miss (and the re-render overwrites it).
Size is bounded: at most once a day, entries unused for MAX_AGE_DAYS are deleted, then the oldest
until the total is under MAX_BYTES.

The same store keeps each input's check results (results-v1/, keyed and used by checkcache.py)
and the kustomize version answers (tools-v1/).

Location: --cache-dir, else $PDCHECK_CACHE_DIR, else $XDG_CACHE_HOME/pdcheck, else
~/.cache/pdcheck. --no-cache or PDCHECK_NO_CACHE=1 disables it.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

from . import __version__
from .discover import kustomization_file

CACHE_FORMAT = 1
CACHE_DIR_ENV = "PDCHECK_CACHE_DIR"
NO_CACHE_ENV = "PDCHECK_NO_CACHE"
MAX_AGE_DAYS = 30
MAX_BYTES = 256 * 1024 * 1024
PRUNE_EVERY_S = 24 * 3600
STALE_TEMP_S = 3600  # temp files of a writer that crashed
_MAGIC = b"pdcheck-render-cache %d\n" % CACHE_FORMAT
_MAX_ENTRY_BYTES = 64 * 1024 * 1024

# Directories never part of a kustomization's inputs unless a path names them explicitly.
_SKIP_DIRS = {".git", ".hg", ".svn", "node_modules", "__pycache__", ".pytest_cache", ".mypy_cache"}
_REMOTE_PREFIXES = ("git@", "github.com/", "gitlab.com/", "bitbucket.org/")
_PLUGIN_KEYS = ("helmCharts", "helmGlobals", "helmChartInflationGenerator")
_FUNCTION_MARK = "config.kubernetes.io/function"


class Uncacheable(Exception):
    """The render depends on something not on this disk (remote base, Helm, exec plugins)."""


def cache_disabled_by_env() -> bool:
    return os.environ.get(NO_CACHE_ENV, "").strip().lower() in ("1", "true", "yes", "on")


def default_cache_dir() -> Path:
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg) if xdg and os.path.isabs(xdg) else Path.home() / ".cache"
    return base / "pdcheck"


def open_cache(cache_dir: str | os.PathLike | None = None, no_cache: bool = False) -> RenderCache | None:
    """The cache the options and environment select, or None when caching is off."""
    if no_cache or cache_disabled_by_env():
        return None
    chosen = cache_dir or os.environ.get(CACHE_DIR_ENV) or default_cache_dir()
    return RenderCache(Path(chosen).expanduser())


# --- the store ----------------------------------------------------------------------------------

class RenderCache:
    def __init__(self, root: Path, max_age_days: float = MAX_AGE_DAYS, max_bytes: int = MAX_BYTES):
        self.root = Path(root)
        self.renders = self.root / f"renders-v{CACHE_FORMAT}"
        self.tools = self.root / f"tools-v{CACHE_FORMAT}"
        self.results = self.root / f"results-v{CACHE_FORMAT}"  # findings per input (checkcache.py)
        self.max_age_s = max_age_days * 86400
        self.max_bytes = max_bytes
        self.stats = {"hit": 0, "miss": 0}  # render lookups, for tests
        self._tool_versions: dict[tuple, str] = {}

    # entries

    def get(self, key: str) -> tuple[bytes, str] | None:
        """(kustomize stdout, wrapper directory it was built from), or None (miss, corrupt, unreadable)."""
        entry = self._read(self.renders, key)
        self.stats["hit" if entry is not None else "miss"] += 1
        return entry

    def put(self, key: str, stdout: bytes, wrapper: str) -> None:
        self._write(self.renders, key, stdout, wrapper)

    def get_results(self, key: str) -> bytes | None:
        """A stored check result (see checkcache.py), or None."""
        entry = self._read(self.results, key)
        return entry[0] if entry is not None else None

    def put_results(self, key: str, payload: bytes) -> None:
        self._write(self.results, key, payload, "")

    def _read(self, directory: Path, key: str) -> tuple[bytes, str] | None:
        path = directory / key
        try:
            with open(path, "rb") as f:
                blob = f.read(_MAX_ENTRY_BYTES + 1)
        except OSError:
            return None
        entry = _decode_entry(blob)
        if entry is None:
            return None
        try:
            os.utime(path)  # age = time since last use, for pruning
        except OSError:
            pass
        return entry

    def _write(self, directory: Path, key: str, body: bytes, wrapper: str) -> None:
        header = json.dumps({"wrapper": wrapper, "size": len(body), "sha256": hashlib.sha256(body).hexdigest()})
        if _write_atomic(directory, key, _MAGIC + header.encode() + b"\n" + body):
            self.maybe_prune()

    # kustomize version

    def tool_version(self, command: list[str], timeout: float = 30, ask: bool = True) -> str | None:
        """`kubectl version --client` / `kustomize version` output, cached per binary (path, mtime,
        size). None when the binary is missing or does not answer (such renders are not cached), or
        with ask=False when the answer is not cached yet."""
        binary = shutil.which(command[0]) or command[0]
        try:
            real = os.path.realpath(binary)
            st = os.stat(real)
            identity = (real, st.st_mtime_ns, st.st_size, st.st_ino, tuple(command[1:]))
        except OSError:
            return None  # the render itself reports the missing binary
        if identity in self._tool_versions:
            return self._tool_versions[identity]
        key = text_sha256(json.dumps(identity))
        try:
            text = (self.tools / key).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            text = None
        if not text:
            if not ask:
                return None
            text = _ask_version(command, timeout)
            if text:
                _write_atomic(self.tools, key, text.encode("utf-8"))
        self._tool_versions[identity] = text
        return text

    # size bound

    def maybe_prune(self, now: float | None = None, force: bool = False) -> None:
        now = time.time() if now is None else now
        stamp = self.root / ".last-prune"
        try:
            if not force and now - stamp.stat().st_mtime < PRUNE_EVERY_S:
                return
        except OSError:
            pass
        try:
            stamp.touch()
        except OSError:
            return
        self.prune(now)

    def prune(self, now: float | None = None) -> None:
        now = time.time() if now is None else now
        entries = []
        for directory in (self.renders, self.tools, self.results):
            try:
                names = os.listdir(directory)
            except OSError:
                continue
            for name in names:
                path = directory / name
                try:
                    st = path.stat()
                except OSError:
                    continue
                temp = name.startswith(".tmp-")
                if (temp and now - st.st_mtime > STALE_TEMP_S) or (not temp and now - st.st_mtime > self.max_age_s):
                    _unlink(path)
                elif not temp:
                    entries.append((st.st_mtime, st.st_size, path))
        total = sum(size for _, size, _ in entries)
        for _, size, path in sorted(entries):
            if total <= self.max_bytes:
                break
            _unlink(path)
            total -= size


def _decode_entry(blob: bytes) -> tuple[bytes, str] | None:
    if not blob.startswith(_MAGIC):
        return None
    end = blob.find(b"\n", len(_MAGIC))
    if end < 0:
        return None
    try:
        header = json.loads(blob[len(_MAGIC):end])
        body = blob[end + 1:]
        if (not isinstance(header, dict) or not isinstance(header.get("wrapper"), str)
                or header.get("size") != len(body) or header.get("sha256") != hashlib.sha256(body).hexdigest()):
            return None
    except (ValueError, UnicodeDecodeError):
        return None
    return body, header["wrapper"]


def _write_atomic(directory: Path, name: str, data: bytes) -> bool:
    tmp = None
    try:
        directory.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=directory)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, directory / name)
        return True
    except OSError:
        if tmp:
            _unlink(Path(tmp))
        return False


def _unlink(path: Path) -> None:
    try:
        path.unlink()
    except OSError:
        pass


def _ask_version(command: list[str], timeout: float) -> str | None:
    is_kubectl = "kubectl" in Path(command[0]).name
    # command is [binary, *user args, 'kustomize'|'build']; the version is asked of the binary alone.
    argv = [command[0], "version", "--client"] if is_kubectl else [command[0], "version"]
    try:
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                stdin=subprocess.DEVNULL, start_new_session=True)
    except OSError:
        return None
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # the whole group: a child must not hold the pipe open
        except OSError:
            pass
        proc.wait()
        return None
    text = out.decode("utf-8", "replace").strip()
    return text if proc.returncode == 0 and text else None


def text_sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# --- the key ------------------------------------------------------------------------------------

class ClosureHasher:
    """Hashes kustomization closures; file digests and directory listings are shared across the
    overlays of one run (base/ and profiles/ are read once however many overlays use them)."""

    def __init__(self):
        self._files: dict[tuple, str] = {}
        self._listings: dict[str, list[str]] = {}
        self._kustomizations: dict[str, tuple[list[str], list[str]]] = {}

    def render_key(self, overlay: Path, command: list[str], tool_version: str, mode: str,
                   closure: str | None = None) -> str:
        """The cache key of rendering `overlay`; raises Uncacheable. `closure`: closure_digest(overlay)
        taken earlier (before kustomize read the files)."""
        material = {
            "format": CACHE_FORMAT, "pdcheck": __version__, "mode": mode,
            "overlay": os.path.realpath(overlay), "command": command, "tool": tool_version,
            "closure": closure or self.closure_digest(overlay),
        }
        return text_sha256(json.dumps(material, sort_keys=True))

    def closure_digest(self, overlay: Path) -> str:
        """Digest of every file in the kustomization closure (names and contents); raises Uncacheable."""
        files = self.closure_files(overlay)
        return text_sha256(json.dumps(sorted((path, self._file_digest(path)) for path in files)))

    def closure_files(self, overlay: Path) -> set[str]:
        dirs: set[str] = set()
        files: set[str] = set()
        queue = [os.path.realpath(overlay)]
        seen: set[str] = set()
        while queue:
            kdir = queue.pop()
            if kdir in seen:
                continue
            seen.add(kdir)
            dirs.add(kdir)
            sub_dirs, sub_files = self._references(kdir)
            files.update(sub_files)
            for d in sub_dirs:
                dirs.add(d)
                if kustomization_file(Path(d)):
                    queue.append(d)
        for d in dirs:
            files.update(self._listing(d))
        return files

    def _references(self, kdir: str) -> tuple[list[str], list[str]]:
        """Directories and files a kustomization names (any string value that is an existing path)."""
        if kdir in self._kustomizations:
            return self._kustomizations[kdir]
        kfile = kustomization_file(Path(kdir))
        data = None
        if kfile:
            import yaml

            try:
                with open(kfile, "rb") as f:
                    data = yaml.load(f, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
            except (OSError, yaml.YAMLError):
                data = None  # kustomize will fail on it; failures are not cached
        dirs, files = [], []
        if isinstance(data, dict):
            if any(k in data for k in _PLUGIN_KEYS):
                raise Uncacheable("helm charts")
            for key in ("resources", "bases", "components"):
                entries = data.get(key)
                for entry in entries if isinstance(entries, list) else []:
                    if isinstance(entry, str) and _is_remote(entry):
                        raise Uncacheable(f"remote {key} entry {entry}")
            plugin_refs = set()
            for key in ("transformers", "generators", "validators"):
                if _FUNCTION_MARK in json.dumps(data.get(key), default=str):
                    raise Uncacheable("KRM function plugin")
                plugin_refs.update(_strings(data.get(key)))
            for text in _strings(data):
                for candidate in (text, text.partition("=")[2]):
                    if not candidate or "\n" in candidate or len(candidate) > 4096:
                        continue
                    path = os.path.join(kdir, candidate)
                    try:
                        if os.path.isdir(path):
                            dirs.append(os.path.realpath(path))
                        elif os.path.isfile(path):
                            files.append(os.path.realpath(path))
                            if text in plugin_refs:
                                _refuse_function_file(path)
                    except (OSError, ValueError):
                        continue
        self._kustomizations[kdir] = (dirs, files)
        return dirs, files

    def _listing(self, directory: str) -> list[str]:
        """Every regular file below a directory (symlinks followed, loops and VCS/cache dirs skipped)."""
        if directory in self._listings:
            return self._listings[directory]
        out: list[str] = []
        visited: set[str] = set()
        stack = [os.path.realpath(directory)]
        while stack:
            current = stack.pop()  # a real path, so the paths of its non-symlink entries are real too
            if current in visited:
                continue
            visited.add(current)
            try:
                entries = list(os.scandir(current))
            except OSError:
                continue
            for entry in entries:
                try:
                    if entry.is_dir():
                        if entry.name not in _SKIP_DIRS:
                            stack.append(os.path.realpath(entry.path) if entry.is_symlink() else entry.path)
                    elif entry.is_file():
                        out.append(os.path.realpath(entry.path) if entry.is_symlink() else entry.path)
                except OSError:
                    continue
        self._listings[directory] = out
        return out

    def _file_digest(self, path: str) -> str:
        try:
            st = os.stat(path)
            identity = (path, st.st_mtime_ns, st.st_size, st.st_ino, st.st_ctime_ns)
        except OSError:
            return "missing"
        digest = self._files.get(identity)
        if digest is None:
            digest = self._files[identity] = file_sha256(path) or "unreadable"
        return digest


def file_sha256(path: str | os.PathLike) -> str | None:
    """SHA-256 of a file's content, or None when it cannot be read."""
    h = hashlib.sha256()
    try:
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
    except OSError:
        return None
    return h.hexdigest()


def _is_remote(entry: str) -> bool:
    return "://" in entry or entry.startswith(_REMOTE_PREFIXES) or "?ref=" in entry


def _strings(data):
    stack = [data]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            yield item
        elif isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def _refuse_function_file(path: str) -> None:
    try:
        with open(path, "rb") as f:
            if _FUNCTION_MARK.encode() in f.read(_MAX_ENTRY_BYTES):
                raise Uncacheable(f"KRM function plugin in {path}")
    except OSError:
        pass
