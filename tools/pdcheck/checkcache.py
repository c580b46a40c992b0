"""Cache of check results: each input's findings, keyed on everything they depend on.

An input's findings are a pure function of
- what it renders to: for an overlay, its render-cache key without origin annotations (every file of
  the kustomization closure, the kustomize command and version, pdcheck's version; see cache.py); for
  a YAML file, its real path and content;
- how they are written: the input's display name and the working directory (finding files are
  shown relative to it);
- the checker: every file of the pdcheck package (path, size and mtime, so an edited rule or
  catalog is a miss even when the version string is unchanged), kubernetes-validate's schema
  directories, the configuration file's content, the CRD files' contents and the
  --k8s-version/--sglang-version/--router-version/--enable/--disable options.

When every input hits, a run reads a few small files and prints: no kustomize, no schemas, no
rules. Inputs that miss go through the normal pipeline and their results are stored. stdin, remote
or plugin-driven kustomizations (see cache.Uncacheable) and unreadable files are never cached.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from . import __version__
from .cache import ClosureHasher, Uncacheable, file_sha256, text_sha256
from .config import Config
from .findings import Finding, Severity

RESULTS_FORMAT = 1


class CheckCache:
    """Results of one run's inputs: lookup() before checking, store() after."""

    def __init__(self, cache, options, config: Config, inputs: list, command: list[str] | None):
        self.cache, self.inputs, self.command = cache, inputs, command
        self.hasher = ClosureHasher()  # handed on to the renderer, which reads the same kustomizations
        self._checker = _checker_fingerprint(options, config)
        self._contents: dict[int, str] = {}  # input index -> digest of what it renders from
        for index, item in enumerate(inputs):
            # Taken now, before kustomize reads the files: an edit during the run must not be
            # stored under the new content with the old findings.
            content = self._content(item)
            if content is not None:
                self._contents[index] = content

    def _content(self, item) -> str | None:
        if item.kind == "kustomize":
            try:
                return self.hasher.closure_digest(item.path)
            except Uncacheable:
                return None
        if item.kind == "file":
            return _file_key(item.path)
        return None  # stdin

    def _key(self, index: int) -> str | None:
        content = self._contents.get(index)
        if content is None:
            return None
        item = self.inputs[index]
        if item.kind == "kustomize":
            # The first run with a kustomize binary learns its version while it renders.
            version = self.cache.tool_version(self.command, ask=False)
            if not version:
                return None
            content = self.hasher.render_key(item.path, self.command, version, "bare", content)
        material = {"format": RESULTS_FORMAT, "render": content, "display": item.display,
                    "cwd": os.getcwd(), "checker": self._checker}
        return text_sha256(json.dumps(material, sort_keys=True))

    def lookup(self) -> dict[int, tuple[list[Finding], int]]:
        """Input index -> (findings, suppressed count) for the inputs whose results are stored."""
        found = {}
        for index in self._contents:
            key = self._key(index)
            payload = self.cache.get_results(key) if key else None
            result = _decode(payload) if payload is not None else None
            if result is not None:
                found[index] = result
        return found

    def store(self, index: int, findings: list[Finding], suppressed: int) -> None:
        key = self._key(index)
        if key is not None:
            self.cache.put_results(key, _encode(findings, suppressed))


def _file_key(path: Path) -> str | None:
    content = file_sha256(path)
    return f"{os.path.realpath(path)}:{content}" if content else None


def _checker_fingerprint(options, config: Config) -> str:
    crds = [Path(c) for c in options.crds] + list(config.crds)
    material = {
        "pdcheck": [__version__, _package_state()],
        "schemas": _schema_state(),
        "config": _content(config.path) if config.path else None,
        "crds": [(str(c), _content(c)) for c in crds],
        "k8s": options.k8s_versions, "sglang": options.sglang_version, "router": options.router_version,
        "enable": sorted(options.enable), "disable": sorted(options.disable),
    }
    return text_sha256(json.dumps(material, sort_keys=True, default=str))


def _package_state() -> list:
    """(path, size, mtime) of every file of the pdcheck package: rules, catalogs, schemas."""
    root = Path(__file__).parent
    state = []
    for current, subdirs, names in os.walk(root):
        subdirs[:] = sorted(d for d in subdirs if d != "__pycache__")
        for name in sorted(names):
            try:
                st = os.stat(os.path.join(current, name))
            except OSError:
                continue
            state.append((os.path.relpath(os.path.join(current, name), root), st.st_size, st.st_mtime_ns))
    return state


def _schema_state() -> list:
    """kubernetes-validate's schema directories (reinstalling or upgrading it changes their mtimes)."""
    from .schema.bundle import schema_root

    root = schema_root()
    try:
        return [str(root)] + sorted((e.name, e.stat().st_mtime_ns) for e in os.scandir(root))
    except OSError:
        return [str(root)]


def _content(path: Path) -> str:
    return file_sha256(path) or "unreadable"


def _encode(findings: list[Finding], suppressed: int) -> bytes:
    return json.dumps({
        "suppressed": suppressed,
        "findings": [[f.rule, f.severity.value, f.message, f.fix, f.object, list(f.path), f.file, f.line, f.overlay,
                      [list(step) for step in f.provenance]] for f in findings],
    }).encode("utf-8")


def _decode(payload: bytes) -> tuple[list[Finding], int] | None:
    """The stored result, or None for anything malformed (a miss: the input is checked again)."""
    try:
        data = json.loads(payload)
        findings = [Finding(rule, Severity(severity), message, fix, obj, tuple(path), file, line, overlay,
                            tuple(tuple(step) for step in provenance))
                    for rule, severity, message, fix, obj, path, file, line, overlay, provenance in data["findings"]]
        suppressed = data["suppressed"]
    except (ValueError, KeyError, TypeError):
        return None
    return (findings, suppressed) if isinstance(suppressed, int) else None
