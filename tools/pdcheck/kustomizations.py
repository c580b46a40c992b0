"""Reading kustomizations the way kustomize does, and walking an overlay's kustomization closure.

One reader for everything that must agree with kustomize about what an overlay loads: the
remote-reference check (remote.py) and the cache key (cache.py).

How kustomize (v5, checked against kubectl 1.37's kustomize v5.8.1) reads them:
- the kustomization file is the first of kustomization.yaml, kustomization.yml, Kustomization;
  only its first YAML document counts (a trailing `---`, or a second document, is ignored; an
  empty first document is an error). Timestamps stay strings (sigs.k8s.io/yaml).
- resources, bases, components, generators, transformers and validators name files, directories
  (another kustomization, with its own root) or remote targets (http(s) files, git repositories in
  the forms of kustomize's api/internal/git/repospec.go: `https://`, `ssh://`, `git::`, `gh:`,
  `git@host:`, `github.com/org/repo`, `..._git/...`, `?ref=`).
- every other path field (patches, crds, configurations, generator files and envs, openapi,
  replacements) names a file; the loader fetches http(s) URLs there too. With the default load
  restrictor a file must lie inside the kustomization's directory after symlinks are resolved.
- helmCharts pull charts from their `repo` (with --enable-helm).

The walk is exact about what it knows and says what it does not: anything it cannot pin down
(an unreadable kustomization, a path outside the load restrictor's root, a plugin, an unexpected
shape) is a doubt, and a closure with doubts is never cached.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from .errors import InputError

KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")

# Fields whose entries are a file, a directory (a kustomization of its own) or a remote target.
TARGET_FIELDS = ("resources", "bases", "components", "generators", "transformers", "validators")
# Fields whose entries name files (or, where kustomize allows it, hold the content inline).
_FILE_LIST_FIELDS = ("crds", "configurations", "patchesStrategicMerge")
_PATH_ITEM_FIELDS = ("patches", "patchesJson6902", "replacements")  # lists of {path: ...} or inline
_GENERATOR_FIELDS = ("configMapGenerator", "secretGenerator")
_PLUGIN_FIELDS = ("generators", "transformers", "validators")
# Keys of a plugin configuration file (a local generators/transformers entry) that name files.
_PLUGIN_PATH_KEYS = {"path", "paths", "files", "envs", "env", "resources", "repo"}
_FUNCTION_MARK = "config.kubernetes.io/function"
MAX_KUSTOMIZATIONS = 1000  # a closure this large is a generated maze, not a deployment

_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
_SCP_LIKE = re.compile(r"^[\w.-]+@[\w.-]+:")  # git@github.com:org/repo


def remote_form(entry: str) -> str | None:
    """'URL' or 'git repository' when kustomize would fetch `entry` over the network, else None."""
    text = entry.strip()
    low = text.lower()
    if _SCHEME.match(text):
        return "URL"
    if low.startswith(("git::", "gh:", "git@", "github.com/", "github.com:")) or _SCP_LIKE.match(text):
        return "git repository"
    first, slash, _ = text.partition("/")
    looks_like_host = slash and "." in first.strip(".") and not first.startswith(".")
    if looks_like_host and ("_git/" in text or ".git" in low or "?ref=" in low or "?version=" in low):
        return "git repository"
    return None


@dataclass
class Reference:
    file: str  # the kustomization (or plugin configuration) that names it
    field: str  # 'resources', 'patches[0].path', ...
    value: str

    def describe(self) -> str:
        return f"{self.field} entry {self.value!r}"


@dataclass
class Closure:
    """What building one overlay reads, as far as the kustomizations say."""

    kustomization_dirs: list[str] = field(default_factory=list)  # real paths, the overlay first
    files: set[str] = field(default_factory=set)  # real paths of files named by path fields
    remote: list[Reference] = field(default_factory=list)
    doubts: list[str] = field(default_factory=list)  # why the closure is not known for certain
    unreadable: list[InputError] = field(default_factory=list)


def kustomization_file(directory: Path | str) -> Path | None:
    for name in KUSTOMIZATION_FILES:
        candidate = Path(directory, name)
        if candidate.is_file():
            return candidate
    return None


_parsed: dict[tuple, dict | InputError] = {}  # (path, stat identity) -> data: discovery, remote.py and the cache share it


def read_kustomization(path: Path | str) -> dict:
    """The kustomization as kustomize reads it (first YAML document); InputError when it cannot be.
    The result is shared: callers must not change it."""
    from .yamlio import load_documents, read_text

    try:
        st = os.stat(path)
        key = (os.fspath(path), st.st_mtime_ns, st.st_ctime_ns, st.st_size, st.st_ino)
    except OSError:
        key = None
    if key in _parsed:
        result = _parsed[key]
    else:
        try:
            docs = load_documents(read_text(path), str(path), first_only=True)
            data = docs[0].data if docs else None
            if not isinstance(data, dict) or not data:
                raise InputError(str(path), "is not a kustomization (expected a YAML mapping in its first document)")
            result = data
        except InputError as exc:
            result = exc
        if key is not None:
            _parsed[key] = result
    if isinstance(result, InputError):
        raise result
    return result


class KustomizationReader:
    """Walks kustomization closures; each kustomization is read (and its entries resolved) once
    however many overlays of a run use it."""

    def __init__(self):
        self._nodes: dict[str, tuple[Closure, list[str]]] = {}  # real dir -> (its own part, subdirs)

    def closure(self, overlay: Path | str) -> Closure:
        out = Closure()
        queue = [os.path.realpath(overlay)]
        seen: set[str] = set()
        while queue:
            kdir = queue.pop(0)
            if kdir in seen:
                continue
            seen.add(kdir)
            if len(seen) > MAX_KUSTOMIZATIONS:
                out.doubts.append(f"more than {MAX_KUSTOMIZATIONS} kustomizations")
                break
            out.kustomization_dirs.append(kdir)
            if kdir not in self._nodes:
                node = Closure()
                self._nodes[kdir] = (node, self._one(kdir, node))
            node, subdirs = self._nodes[kdir]
            out.files |= node.files
            out.remote += node.remote
            out.doubts += node.doubts
            out.unreadable += node.unreadable
            queue.extend(subdirs)
        return out

    @staticmethod
    def _load(kdir: str):
        found = [n for n in KUSTOMIZATION_FILES if os.path.isfile(os.path.join(kdir, n))]
        kfile = os.path.join(kdir, found[0]) if found else None
        if kfile is None:
            return None, InputError(kdir, "has no kustomization.yaml")
        if len(found) > 1:  # kustomize refuses to choose
            return kfile, InputError(kfile, f"found several kustomization files ({', '.join(found)})")
        try:
            return kfile, read_kustomization(kfile)
        except InputError as exc:
            return kfile, exc

    def _one(self, kdir: str, out: Closure) -> list[str]:
        """Record one kustomization's files and remote references; return the directories it builds from."""
        kfile, data = self._load(kdir)
        if isinstance(data, InputError):
            out.unreadable.append(data)
            out.doubts.append(str(data))
            return []
        out.files.add(os.path.realpath(kfile))
        doubt = out.doubts.append
        subdirs = []

        def remote(field_name: str, value: str) -> bool:
            if remote_form(value):
                out.remote.append(Reference(kfile, field_name, value))
                return True
            return False

        def local_file(field_name: str, value, inline_ok: bool = False) -> None:
            if not isinstance(value, str):
                doubt(f"{kfile}: {field_name} is not a string")
            elif remote(field_name, value):
                pass
            elif inline_ok and ("\n" in value or not os.path.lexists(os.path.join(kdir, value))):
                pass  # inline content (a patch, a replacement): nothing to load
            else:
                self._file_in_root(kdir, kfile, field_name, value, out)

        for key in TARGET_FIELDS:
            for i, entry in enumerate(_entries(data, key, kfile, doubt)):
                where = f"{key}[{i}]"
                if not isinstance(entry, str):
                    doubt(f"{kfile}: {where} is not a string")
                    continue
                path = os.path.join(kdir, entry)
                if key in _PLUGIN_FIELDS and "\n" in entry:
                    self._plugin_config(entry, kfile, where, out)
                elif os.path.isfile(path):  # kustomize tries a file first, then a directory or repository
                    real = self._file_in_root(kdir, kfile, where, entry, out)
                    if real and key in _PLUGIN_FIELDS:
                        self._plugin_file(real, kfile, where, out)
                elif remote(where, entry):
                    pass
                elif os.path.isdir(path):
                    subdirs.append(os.path.realpath(path))
                else:
                    doubt(f"{kfile}: {where} {entry!r} does not exist")
        for key in _FILE_LIST_FIELDS:
            for i, entry in enumerate(_entries(data, key, kfile, doubt)):
                local_file(f"{key}[{i}]", entry, inline_ok=key == "patchesStrategicMerge")
        for key in _PATH_ITEM_FIELDS:
            for i, item in enumerate(_entries(data, key, kfile, doubt)):
                if isinstance(item, dict) and "path" in item:
                    local_file(f"{key}[{i}].path", item["path"])
                elif not isinstance(item, dict):
                    doubt(f"{kfile}: {key}[{i}] is not a mapping")
        for key in _GENERATOR_FIELDS:
            for i, gen in enumerate(_entries(data, key, kfile, doubt)):
                if not isinstance(gen, dict):
                    doubt(f"{kfile}: {key}[{i}] is not a mapping")
                    continue
                for sub in ("files", "envs"):
                    for j, entry in enumerate(_entries(gen, sub, kfile, doubt)):
                        if sub == "files" and isinstance(entry, str) and "=" in entry:
                            entry = entry.partition("=")[2]  # 'key=path'
                        local_file(f"{key}[{i}].{sub}[{j}]", entry)
                if "env" in gen:
                    local_file(f"{key}[{i}].env", gen["env"])
        openapi = data.get("openapi")
        if isinstance(openapi, dict) and "path" in openapi:
            local_file("openapi.path", openapi["path"])
        elif openapi is not None and not isinstance(openapi, dict):
            doubt(f"{kfile}: openapi is not a mapping")
        for i, chart in enumerate(_entries(data, "helmCharts", kfile, doubt)):
            repo = chart.get("repo") if isinstance(chart, dict) else None
            if isinstance(repo, str) and repo:  # helm pulls the chart from it (with --enable-helm)
                out.remote.append(Reference(kfile, f"helmCharts[{i}].repo", repo))
        if any(k in data for k in ("helmCharts", "helmGlobals", "helmChartInflationGenerator")):
            doubt(f"{kfile}: Helm charts")
        return subdirs

    def _file_in_root(self, kdir: str, kfile: str, where: str, value: str, out: Closure) -> str | None:
        """The real path of a file the kustomization loads, or None (and a doubt) when kustomize's
        load restrictor would refuse it or it is not a regular file."""
        real = os.path.realpath(os.path.join(kdir, value))
        if not (real == kdir or real.startswith(kdir.rstrip(os.sep) + os.sep)):
            out.doubts.append(f"{kfile}: {where} {value!r} is outside the kustomization's directory")
            return None
        if not os.path.isfile(real):
            out.doubts.append(f"{kfile}: {where} {value!r} is not a regular file")
            return None
        out.files.add(real)
        return real

    def _plugin_file(self, path: str, kfile: str, where: str, out: Closure) -> None:
        from .yamlio import load_documents, read_text

        try:
            docs = [d.data for d in load_documents(read_text(path), path)]
        except InputError as exc:
            out.doubts.append(str(exc))
            return
        self._plugin_docs(docs, path, where, out)

    def _plugin_config(self, text: str, kfile: str, where: str, out: Closure) -> None:
        from .yamlio import load_documents

        try:
            docs = [d.data for d in load_documents(text, kfile)]
        except InputError as exc:
            out.doubts.append(str(exc))
            return
        self._plugin_docs(docs, kfile, where, out)

    @staticmethod
    def _plugin_docs(docs: list, file: str, where: str, out: Closure) -> None:
        """A generator/transformer/validator configuration: builtin plugins name files (relative to
        the kustomization, inside its directory, which the cache hashes whole); exec and container
        (KRM function) plugins run code, so their output is never cached."""
        for key, value in _items(docs):
            if key == "annotations" and isinstance(value, dict) and _FUNCTION_MARK in value:
                out.doubts.append(f"{file}: KRM function plugin")
            if key in _PLUGIN_PATH_KEYS:
                for text in value if isinstance(value, list) else [value]:
                    if isinstance(text, str) and remote_form(text):
                        out.remote.append(Reference(file, f"{where} {key}", text))


def _entries(data: dict, key: str, kfile: str, doubt) -> list:
    value = data.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        doubt(f"{kfile}: {key} is not a list")
        return []
    return value


def _items(data):
    """Every (key, value) of every mapping inside `data`."""
    stack = [data]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            for key, value in item.items():
                yield key, value
                stack.append(value)
        elif isinstance(item, list):
            stack.extend(item)
