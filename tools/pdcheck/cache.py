"""Content-addressed cache of kustomize renders (and the store of the results cache).

A render is a pure function of (a) every file the kustomization can read, (b) the kustomize
command and its version, (c) how pdcheck invokes it. The key hashes all of these:

- the kustomization closure, as kustomizations.py reads it (the way kustomize does): every
  kustomization directory reached through resources, bases, components and plugin entries. With
  kustomize's default load restrictor every file a kustomization loads lies inside its directory
  (symlinks resolved), so each directory is hashed whole, recursively: regular files by name and
  content, symlinks to anything else by their link text (never followed out of the directory),
  VCS and cache directories skipped; the files the kustomizations name are added explicitly.
  Over-approximating is deliberate: an unrelated edit next to a kustomization costs one
  re-render, a missed input would serve a stale render;
- the overlay's absolute path (origin annotations are relative paths), the command, the output of
  `<tool> version` (itself cached, keyed on the binary's path, mtime and size), pdcheck's version
  and the cache format.

Never cached (kustomizations.Closure.doubts, raised as Uncacheable): closures with remote
targets, Helm charts or KRM function plugins (their inputs are not all on this disk), with a
kustomization pdcheck cannot read or a named file outside its kustomization's directory, a
kustomize command that turns the load restrictor off, and closures past the bounds below
(MAX_CLOSURE_FILES files, MAX_FILE_BYTES per file, MAX_CLOSURE_BYTES in all; only regular files are
read, so a FIFO or /proc file never blocks the hash).

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
import stat
import subprocess
import tempfile
import time
from pathlib import Path

from . import __version__
from .kustomizations import KustomizationReader

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

# Bounds on what a closure hashes: past them the render is not cached (and is still checked).
MAX_CLOSURE_FILES = 5000
MAX_FILE_BYTES = 16 * 1024 * 1024  # as yamlio.MAX_INPUT_BYTES: kustomize inputs are manifests
MAX_CLOSURE_BYTES = 128 * 1024 * 1024


class ClosureHasher:
    """Hashes kustomization closures; file digests and directory listings are shared across the
    overlays of one run (base/ and profiles/ are read once however many overlays use them).

    reader: a KustomizationReader of this run that has already resolved these closures (remote.py).
    command: the kustomize command; one that turns the load restrictor off can read any file, and
    one that enables plugins runs programs whose inputs no kustomization names: nothing such a
    command renders is cached.
    """

    def __init__(self, command: list[str] | None = None, reader: KustomizationReader | None = None):
        self._reader = reader or KustomizationReader()
        self._files: dict[tuple, str] = {}
        self._listings: dict[str, list[tuple[str, str]]] = {}
        args = [a.lower().replace("_", "-") for a in command or ()]
        self._unrestricted = ((any("load-restrictor" in a for a in args) and not any("rootonly" in a for a in args))
                              or any(flag in a for a in args for flag in ("enable-alpha-plugins", "enable-exec", "enable-helm")))

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
        """Digest of every file the build can read (names and contents); raises Uncacheable."""
        entries = self.closure_entries(overlay)
        total = 0
        digests = []
        for name, target in sorted(entries.items()):
            if target.startswith("link:"):
                digests.append((name, target))
                continue
            digest, size = self._file_digest(target)
            total += size
            if total > MAX_CLOSURE_BYTES:
                raise Uncacheable(f"the kustomization closure holds over {MAX_CLOSURE_BYTES >> 20} MiB")
            digests.append((name, digest))
        return text_sha256(json.dumps(digests))

    def closure_files(self, overlay: Path) -> set[str]:
        """Real paths of the regular files the closure digest covers; raises Uncacheable."""
        return {t for t in self.closure_entries(overlay).values() if not t.startswith("link:")}

    def closure_entries(self, overlay: Path) -> dict[str, str]:
        """name -> what is hashed for it: a regular file's real path, or 'link:<target>' for a
        symlink whose target is not a file inside its kustomization's directory (kustomize's load
        restrictor refuses those, so only the link text can matter). Raises Uncacheable.

        Every file kustomize loads for a kustomization lies inside its directory (load restrictor,
        symlinks resolved) or is another kustomization of the closure; so the closure is the
        kustomization directories, hashed whole (regular files; symlinked directories by their link
        text, not followed), plus the files the kustomizations name (cache.py's module doc).
        """
        if self._unrestricted:
            raise Uncacheable("the kustomize command turns the load restrictor off or enables plugins")
        closure = self._reader.closure(overlay)
        if closure.remote:
            raise Uncacheable(f"remote {closure.remote[0].describe()}")
        if closure.doubts:
            raise Uncacheable(closure.doubts[0])
        entries: dict[str, str] = {}
        for kdir in closure.kustomization_dirs:
            for name, target in self._listing(kdir):
                entries[name] = target
                if len(entries) > MAX_CLOSURE_FILES:
                    raise Uncacheable(f"the kustomization closure holds over {MAX_CLOSURE_FILES} files")
        for path in closure.files:
            entries[path] = path
        return entries

    def _listing(self, root: str) -> list[tuple[str, str]]:
        """(name, target) of every entry below a kustomization directory (see closure_entries);
        VCS and cache directories skipped, at most MAX_CLOSURE_FILES + 1 entries."""
        if root in self._listings:
            return self._listings[root]
        out: list[tuple[str, str]] = []
        inside = root.rstrip(os.sep) + os.sep
        stack = [root]
        while stack and len(out) <= MAX_CLOSURE_FILES:
            current = stack.pop()
            try:
                entries = list(os.scandir(current))
            except OSError:
                continue
            for entry in entries:
                try:
                    if entry.is_symlink():
                        target = os.path.realpath(entry.path)
                        if target.startswith(inside) and os.path.isfile(target):
                            out.append((entry.path, target))
                        else:
                            out.append((entry.path, "link:" + os.readlink(entry.path)))
                    elif entry.is_dir(follow_symlinks=False):
                        if entry.name not in _SKIP_DIRS:
                            stack.append(entry.path)
                    elif entry.is_file(follow_symlinks=False):
                        out.append((entry.path, entry.path))
                except OSError:
                    continue
        self._listings[root] = out
        return out

    def _file_digest(self, path: str) -> tuple[str, int]:
        """(SHA-256, size) of a regular file, read once per run; raises Uncacheable for anything else."""
        try:
            st = os.stat(path)
        except OSError:
            raise Uncacheable(f"cannot read {path}") from None
        identity = (path, st.st_mtime_ns, st.st_size, st.st_ino, st.st_ctime_ns)
        digest = self._files.get(identity)
        if digest is None:
            digest = file_sha256(path, MAX_FILE_BYTES)
            if digest is None:
                raise Uncacheable(f"{path} is not a regular file of at most {MAX_FILE_BYTES >> 20} MiB")
            self._files[identity] = digest
        return digest, st.st_size


def file_sha256(path: str | os.PathLike, max_bytes: int = MAX_FILE_BYTES) -> str | None:
    """SHA-256 of a regular file's content, or None when it cannot be read, is not a regular file
    (a FIFO would block, /proc files never end) or holds more than max_bytes."""
    h = hashlib.sha256()
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError:
        return None
    with os.fdopen(fd, "rb") as f:
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                return None
            left = max_bytes + 1
            while left > 0:
                chunk = f.read(min(1 << 20, left))
                if not chunk:
                    break
                h.update(chunk)
                left -= len(chunk)
        except OSError:
            return None
    return h.hexdigest() if left > 0 else None
