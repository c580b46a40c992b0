"""Where a value that reaches a pod was set: the kustomize line that won, not the template that uses it.

An engine's `--tp-size $(PD_TP)` is written once in a base template; the value 12 that breaks it
was written in an overlay's component, as a configMapGenerator literal, a line of an env file, a
`behavior: merge` or a patch of the ConfigMap; a Service port may be a copy a `replacements` entry
made from such a key. This module walks an overlay's kustomization closure in kustomize's order and
records, for every ConfigMap key, the line that set its final value, and for every replacement the
value it copied and from which line (trace_overlay). explain() then follows a problem's field back
to that line: argv and env values through the `$(VAR)`s written there and the env var that
provides each (the model's EnvVar.config_key), replacement targets through their source key.

The order followed is kustomize's (api/internal/target/kusttarget.go, v5.1+, kubectl >= 1.31):
a kustomization accumulates its resources (each directory built whole), runs its generators, then
its components in order (each the same way, recursively), then its transformers: patches, then
replacements. kustomize < v5.1 ran components before generators; wherever the walk's final value
of a key differs from the rendered ConfigMap, nothing is attributed to it, so a walk that got the
order wrong says nothing rather than something wrong.
"""

from __future__ import annotations

import copy
import os
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import yaml

from .discover import display_path, kustomization_file
from .model import dig

_VAR_REF = re.compile(r"(?<!\$)\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)")
_HASH_SUFFIX = re.compile(r"-[a-z0-9]{10}$")  # kustomize's name hash for generated ConfigMaps
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True)
class Setting:
    """One place that set a value: file, line and what is written there ('PD_TP=12')."""

    file: str
    line: int | None
    text: str
    how: str  # 'configMapGenerator sglang-decode, behavior: merge', 'patch', ...

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}" if self.line else self.file


@dataclass
class Replacement:
    """One `replacements` entry: what it copied, when it ran, where it is written."""

    key: tuple[str, str]  # source (ConfigMap name, data key)
    copied: str | None  # the value the source had when the replacement ran
    entry: Setting  # the replacement entry in its kustomization
    kustomization: str  # directory of the kustomization (component) that holds it
    targets: list[tuple[dict, list[dict], list[str]]]  # (select, reject, fieldPaths)


@dataclass
class Trace:
    """Result of trace_overlay(): every ConfigMap key's final value and setting, every replacement."""

    keys: dict[tuple[str, str], tuple[str, Setting]] = field(default_factory=dict)
    replacements: list[Replacement] = field(default_factory=list)
    components: dict[str, Setting] = field(default_factory=dict)  # component dir -> its `components:` entry
    config_maps: set[str] = field(default_factory=set)  # names the walk knows (before hashing)
    patch_files: list[str] = field(default_factory=list)  # patch and resource files, in the order applied

    def config_map_name(self, rendered: str) -> str | None:
        """The name a rendered ConfigMap ('sglang-decode-6h7k9m2b4t') was generated or written as."""
        if rendered in self.config_maps:
            return rendered
        base = _HASH_SUFFIX.sub("", rendered)
        return base if base in self.config_maps else None

    def setting(self, rendered_cm: str, key: str) -> tuple[str, Setting] | None:
        name = self.config_map_name(rendered_cm)
        return self.keys.get((name, key)) if name else None


@dataclass
class Explanation:
    """How a problem's value was set: the bundle setting (ConfigMap key) and the line that won."""

    variable: str  # the name the pod sees ($(PD_TP)), or the key a replacement copied
    key: tuple[str, str]
    value: str
    setting: Setting
    option: str | None = None  # the flag the value fills, when the problem points at one
    copied_by: Setting | None = None  # the replacement entry, when the field is its copy


# --- reading kustomizations with line numbers ---------------------------------------------------

def _compose(path: str):
    """The YAML documents of a file as nodes (they carry line numbers), or None when unreadable;
    read once per version of the file (base/ and profiles/ are shared by every overlay)."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return _compose_version(path, st.st_mtime_ns, st.st_size)


@lru_cache(maxsize=512)
def _compose_version(path: str, _mtime_ns: int, _size: int):
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
        return [n for n in yaml.compose_all(text, Loader=_LOADER) if n is not None]
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return None


def _shown(path: str) -> str:
    """How a file is named in findings (discover.display_path), worked out once per path."""
    return _shown_from(os.getcwd(), path)


@lru_cache(maxsize=4096)
def _shown_from(_cwd: str, path: str) -> str:
    return display_path(Path(path))


@lru_cache(maxsize=1024)
def _kustomization_file(kdir: str) -> str | None:
    found = kustomization_file(Path(kdir))
    return str(found) if found else None


@lru_cache(maxsize=512)
def _compose_text(text: str) -> list:
    """An inline patch's documents as nodes (lines counted from the patch's first line)."""
    try:
        return [n for n in yaml.compose_all(text, Loader=_LOADER) if n is not None]
    except yaml.YAMLError:
        return []


def _get(node, key: str):
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            if isinstance(k, yaml.ScalarNode) and k.value == key:
                return v
    return None


def _items(node) -> list:
    return list(node.value) if isinstance(node, yaml.SequenceNode) else []


def _text(node) -> str | None:
    return node.value if isinstance(node, yaml.ScalarNode) else None


def _line(node) -> int:
    return node.start_mark.line + 1


def _plain(node):
    """A node as plain data (scalars stay strings)."""
    if isinstance(node, yaml.MappingNode):
        return {_text(k): _plain(v) for k, v in node.value}
    if isinstance(node, yaml.SequenceNode):
        return [_plain(v) for v in node.value]
    return node.value if node is not None else None


def _list_entries(node) -> list[tuple[str, int]]:
    """(text, line) of the string items of a list node."""
    return [(item.value, _line(item)) for item in _items(node) if isinstance(item, yaml.ScalarNode)]


# --- the walk ---------------------------------------------------------------------------------

class _Walk:
    def __init__(self, trace: Trace):
        self.trace = trace
        self.building: set[str] = set()

    def build(self, kdir: str) -> None:
        if kdir in self.building:  # a cycle kustomize would refuse; the walk only follows it once
            return
        self.building.add(kdir)
        try:
            self._build(kdir)
        finally:
            self.building.discard(kdir)

    def _build(self, kdir: str) -> None:
        kfile = _kustomization_file(kdir)
        docs = _compose(kfile) if kfile else None
        if not docs:
            return
        k = docs[0]
        shown = _shown(kfile)
        for entry, _line_no in _list_entries(_get(k, "resources")) + _list_entries(_get(k, "bases")):
            path = os.path.normpath(os.path.join(kdir, entry))
            if os.path.isdir(path):
                self.build(path)
            elif os.path.isfile(path):
                self.resource_file(path)
        for gen in _items(_get(k, "configMapGenerator")):
            self.generator(kdir, shown, gen)
        for entry, line_no in _list_entries(_get(k, "components")):
            path = os.path.normpath(os.path.join(kdir, entry))
            # The last listing wins: base/ may list a component that the overlay lists again.
            self.trace.components[path] = Setting(shown, line_no, f"- {entry}", "components")
            if os.path.isdir(path):
                self.build(path)
        for patch in _items(_get(k, "patchesStrategicMerge")):
            self.patch(kdir, shown, patch, None)
        for patch in _items(_get(k, "patches")) + _items(_get(k, "patchesJson6902")):
            self.patch(kdir, shown, _get(patch, "path") or _get(patch, "patch") or patch, _get(patch, "target"))
        for rep in _items(_get(k, "replacements")):
            self.replacement(kdir, shown, rep)

    # resources and generators

    def resource_file(self, path: str) -> None:
        self.trace.patch_files.append(path)
        for doc in _compose(path) or []:
            if _text(_get(doc, "kind")) == "ConfigMap":
                name = _text(_get(_get(doc, "metadata"), "name"))
                if name:
                    self.trace.config_maps.add(name)
                    self.set_data(name, path, _get(doc, "data"), "ConfigMap data")

    def set_data(self, name: str, path: str, data, how: str) -> None:
        shown = _shown(path)
        if isinstance(data, yaml.MappingNode):
            for knode, vnode in data.value:
                key, value = _text(knode), _text(vnode)
                if key is not None and value is not None:
                    self.trace.keys[(name, key)] = (value, Setting(shown, _line(knode), f"{key}: {value}", how))

    def generator(self, kdir: str, shown: str, gen) -> None:
        name = _text(_get(gen, "name"))
        if not name:
            return
        behavior = _text(_get(gen, "behavior")) or "create"
        how = f"configMapGenerator {name}" + (f", behavior: {behavior}" if behavior != "create" else "")
        values: dict[str, tuple[str, Setting]] = {}
        for env, _ in _list_entries(_get(gen, "envs")) + _list_entries(_get(gen, "env")):
            env_path = os.path.join(kdir, env)
            values.update(_env_file(env_path, how))
        for spec, line_no in _list_entries(_get(gen, "files")):
            key, _, file = spec.partition("=") if "=" in spec else (os.path.basename(spec), "", spec)
            try:
                content = Path(kdir, file).read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError):
                continue
            values[key] = (content, Setting(shown, line_no, spec, how))
        for literal, line_no in _list_entries(_get(gen, "literals")):
            key, sep, value = literal.partition("=")
            if sep:
                values[key] = (_unquote(value), Setting(shown, line_no, literal, how))
        if behavior in ("create", "replace"):
            for existing in [k for k in self.trace.keys if k[0] == name]:
                del self.trace.keys[existing]
        self.trace.config_maps.add(name)
        for key, found in values.items():
            self.trace.keys[(name, key)] = found

    # transformers

    def patch(self, kdir: str, shown: str, node, target) -> None:
        """A patch that changes a ConfigMap's data: strategic merge (`data:`) or JSON 6902 (/data/KEY)."""
        text = _text(node)
        if text is None:
            return
        target_kind = _text(_get(target, "kind"))
        target_name = _text(_get(target, "name"))
        if "\n" not in text and os.path.isfile(os.path.join(kdir, text)):
            path = os.path.join(kdir, text)
            self.trace.patch_files.append(path)
            docs, file, offset = _compose(path) or [], _shown(path), 0
        else:
            docs = _compose_text(text)
            # An inline block scalar starts on the line after `patch: |`.
            file, offset = shown, _line(node) if node.style in ("|", ">") else _line(node) - 1
        for doc in docs:
            if isinstance(doc, yaml.SequenceNode):  # JSON 6902 operations
                if target_kind != "ConfigMap" or not target_name:
                    continue
                for op in _items(doc):
                    m = re.fullmatch(r"/data/([^/]+)", _text(_get(op, "path")) or "")
                    value = _get(op, "value")
                    if m and _text(_get(op, "op")) in ("add", "replace") and _text(value) is not None:
                        key = m.group(1).replace("~1", "/").replace("~0", "~")
                        self.trace.keys[(target_name, key)] = (
                            _text(value), Setting(file, offset + _line(value), f"{key}: {_text(value)}", "JSON patch"))
            elif _text(_get(doc, "kind")) == "ConfigMap" or (target_kind == "ConfigMap" and _get(doc, "data")):
                name = _text(_get(_get(doc, "metadata"), "name")) or target_name
                data = _get(doc, "data")
                if name and isinstance(data, yaml.MappingNode):
                    for knode, vnode in data.value:
                        key, value = _text(knode), _text(vnode)
                        if key is not None and value is not None:
                            self.trace.keys[(name, key)] = (
                                value, Setting(file, offset + _line(knode), f"{key}: {value}", "patch"))

    def replacement(self, kdir: str, shown: str, rep) -> None:
        path = _text(_get(rep, "path"))
        if path:  # `- path: replacements.yaml`: a file holding a list of them
            file = os.path.join(kdir, path)
            for doc in _compose(file) or []:
                for item in _items(doc):
                    self.replacement(kdir, _shown(file), item)
            return
        source = _get(rep, "source")
        m = re.fullmatch(r"data\.([^.\[\]]+)", _text(_get(source, "fieldPath")) or "")
        name = _text(_get(source, "name"))
        if _text(_get(source, "kind")) not in (None, "ConfigMap") or not m or not name:
            return
        key = (name, m.group(1))
        copied = self.trace.keys.get(key, (None, None))[0]
        targets = []
        for target in _items(_get(rep, "targets")):
            select = _plain(_get(target, "select")) or {}
            reject = [r for r in _plain(_get(target, "reject")) or [] if isinstance(r, dict)]
            paths = [p for p, _ in _list_entries(_get(target, "fieldPaths"))]
            if isinstance(select, dict) and paths:
                targets.append((select, reject, paths))
        entry = Setting(shown, _line(rep), f"replacement of {name} {_text(_get(source, 'fieldPath'))}", "replacements")
        self.trace.replacements.append(Replacement(key, copied, entry, kdir, targets))


def _env_file(path: str, how: str) -> dict[str, tuple[str, Setting]]:
    """KEY=VALUE lines of a kustomize env file, with their line numbers."""
    try:
        st = os.stat(path)
    except OSError:
        return {}
    return {key: (value, Setting(_shown(path), number, text, how))
            for key, (value, number, text) in _env_lines(path, st.st_mtime_ns, st.st_size).items()}


@lru_cache(maxsize=512)
def _env_lines(path: str, _mtime_ns: int, _size: int) -> dict[str, tuple[str, int, str]]:
    out = {}
    try:
        lines = Path(path).read_text(encoding="utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError):
        return out
    for number, raw in enumerate(lines, 1):
        text = raw.strip()
        if not text or text.startswith("#"):
            continue
        key, sep, value = text.partition("=")
        if sep:
            out[key.strip()] = (value, number, text)
    return out


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        return value[1:-1]
    return value


def trace_overlay(overlay: str | os.PathLike, rendered_config_maps: dict[str, dict] | None = None) -> Trace:
    """Walk an overlay (see the module doc). rendered_config_maps (rendered name -> data): keys
    whose walked value differs from the render are dropped, so nothing is attributed wrongly."""
    trace = Trace()
    _Walk(trace).build(os.path.normpath(os.path.abspath(overlay)))
    if rendered_config_maps is not None:
        rendered = {}
        for cm_name, data in rendered_config_maps.items():
            name = trace.config_map_name(cm_name)
            if name and isinstance(data, dict):
                rendered[name] = data
        for (name, key), (value, _setting) in list(trace.keys.items()):
            if name not in rendered or str(rendered[name].get(key)) != value:
                del trace.keys[(name, key)]
    return trace


# --- from a problem to its setting ------------------------------------------------------------

def variables_in(text: str) -> list[str]:
    """The $(VAR) references kubelet expands in a command/args/env value."""
    return _VAR_REF.findall(text)


def explain(trace: Trace, model, obj, path: tuple) -> Explanation | None:
    """The setting behind the value at `path` of `obj`, when it came from a ConfigMap key: through
    a $(VAR) in an argv or env entry, or as a replacement's copy."""
    container = _container_at(model, obj, path)
    if container is not None:
        rest = path[len(container.path):]
        if len(rest) >= 2 and rest[0] in ("command", "args") and isinstance(rest[1], int):
            index = rest[1] + (container.command_len if rest[0] == "args" else 0)
            return _explain_argv(trace, container, index)
        if len(rest) >= 2 and rest[0] == "env" and isinstance(rest[1], int):
            entries = container.spec.get("env") if isinstance(container.spec.get("env"), list) else []
            entry = entries[rest[1]] if rest[1] < len(entries) and isinstance(entries[rest[1]], dict) else {}
            var = container.env.get(entry.get("name")) if isinstance(entry.get("name"), str) else None
            return _explain_variable(trace, container, var.name) if var is not None else None
    return _explain_copy(trace, obj, path)


def _container_at(model, obj, path: tuple):
    for wl in model.workloads if model is not None else []:
        if wl.obj is not obj:
            continue
        for pod in wl.pods:
            for c in pod.containers + pod.init_containers:
                if path[: len(c.path)] == c.path:
                    return c
    return None


def _explain_argv(trace: Trace, container, index: int) -> Explanation | None:
    raw = container.raw_argv
    if not 0 <= index < len(raw):
        return None
    option = None
    names = variables_in(raw[index])
    if raw[index].startswith("-"):
        option = raw[index].split("=", 1)[0]
        if not names and index + 1 < len(raw) and "=" not in raw[index]:
            names = variables_in(raw[index + 1])  # the problem points at the option; its value follows
    elif index > 0 and raw[index - 1].startswith("--") and "=" not in raw[index - 1]:
        option = raw[index - 1]
    for name in names:
        found = _explain_variable(trace, container, name)
        if found is not None:
            found.option = option
            return found
    return None


def _explain_variable(trace: Trace, container, name: str, depth: int = 0) -> Explanation | None:
    var = container.env.get(name)
    if var is None or depth > 5:
        return None
    if var.config_key is not None:
        found = trace.setting(*var.config_key)
        if found is None:
            return None
        return Explanation(name, (trace.config_map_name(var.config_key[0]), var.config_key[1]), found[0], found[1])
    for inner in variables_in(var.raw or ""):  # NVSHMEM_HCA_LIST: $(PD_IB_DEVICES)
        found = _explain_variable(trace, container, inner, depth + 1)
        if found is not None:
            return found
    return None


def _explain_copy(trace: Trace, obj, path: tuple) -> Explanation | None:
    """The replacement that last wrote the field at `path` (or a field it lies in)."""
    for rep in reversed(trace.replacements):
        for field_path in replaced_paths(rep, obj):
            if path[: len(field_path)] == field_path:
                found = trace.keys.get(rep.key)
                if found is None or rep.copied != found[0]:
                    return None  # a stale copy: kustomize-replacement-order says so
                return Explanation(rep.key[1], rep.key, found[0], found[1], copied_by=rep.entry)
    return None


def replaced_paths(rep: Replacement, obj) -> list[tuple]:
    """The concrete field paths of `obj` a replacement writes (none when it does not select obj)."""
    out = []
    for select, reject, field_paths in rep.targets:
        if not _selects(select, obj) or any(_selects(r, obj) for r in reject):
            continue
        for fp in field_paths:
            resolved = _resolve(obj.doc, fp)
            if resolved is not None:
                out.append(resolved)
    return out


def _selects(select: dict, obj) -> bool:
    for key, actual in (("kind", obj.kind), ("name", obj.name), ("namespace", obj.namespace)):
        want = select.get(key)
        if want is None:
            continue
        try:
            if not re.fullmatch(str(want), str(actual or "")):
                return False
        except re.error:
            if str(want) != str(actual):
                return False
    return True


def _resolve(doc, field_path: str) -> tuple | None:
    """A kustomize fieldPath ('spec.ports.[name=http].port') as the path in this rendered doc."""
    parts = re.findall(r"\[[^\]]*\]|[^.\[\]]+", field_path)
    node, out = doc, []
    for part in parts:
        if part.startswith("["):
            inner = part[1:-1]
            if "=" in inner and isinstance(node, list):
                k, v = inner.split("=", 1)
                idx = next((i for i, item in enumerate(node) if isinstance(item, dict) and str(item.get(k)) == v), None)
                if idx is None:
                    return None
                out.append(idx)
                node = node[idx]
            elif isinstance(node, dict) and inner in node:  # annotations.[sglang.ai/bootstrap-port]
                out.append(inner)
                node = node[inner]
            else:
                return None
        elif isinstance(node, dict) and part in node:
            out.append(part)
            node = node[part]
        else:
            return None
    return tuple(out)


def stale_replacements(trace: Trace) -> list[Replacement]:
    """Replacements whose copy is out of date: the source key changed after they ran and no later
    replacement copied it again into the same targets."""
    last: dict[tuple, Replacement] = {}
    for rep in trace.replacements:
        for select, _, paths in rep.targets:
            for fp in paths:
                last[(rep.key, tuple(sorted((str(k), str(v)) for k, v in select.items())), fp)] = rep
    out = []
    for rep in last.values():
        final = trace.keys.get(rep.key)
        if final is not None and rep.copied is not None and rep.copied != final[0] and rep not in out:
            out.append(rep)
    return out


def component_of(trace: Trace, file: str) -> Setting | None:
    """The `components:` entry that brought in the kustomization holding `file` (None: not a component)."""
    directory = os.path.dirname(os.path.abspath(file))
    return trace.components.get(directory)


# --- findings: where the value was set, and one finding per cause -------------------------------

REPLACEMENT_ORDER_RULE = "kustomize-replacement-order"


class Attribution:
    """Used by the locate stage: rewrites a finding whose value came through kustomize to point at
    the line that set it (attach), then folds into a finding that names a cause the findings that
    fixing that cause removes (fold). The overlay is walked on the first finding that needs it.

    Which findings follow from a cause is not guessed: fold() applies the fix the cause names to a
    copy of the render (the setting at the value the fix suggests, a stale replacement's copies at
    the final value) and checks it again with `recheck` (render -> the (rule, object, path) of
    every problem found); a finding that disappears with the fix is folded into the cause, if it
    is no more severe. Without recheck nothing is folded."""

    def __init__(self, render, model, recheck=None):
        self.render, self.model, self.recheck = render, model, recheck
        self.active = model is not None and render.source == "kustomize"
        self.explained: dict[int, tuple[Explanation, str | None]] = {}  # id(finding) -> (why, the value its fix names)

    def trace(self) -> Trace:
        return trace_of(self.model)

    def attach(self, finding, problem):
        """The finding, pointing at where its value was set when that is known."""
        if not self.active or problem.obj is None or problem.provenance:
            return finding
        try:
            return self._attach(finding, problem)
        except Exception:  # provenance only adds to a finding: a bug here must not lose the finding
            return finding

    def _attach(self, finding, problem):
        why = explain(self.trace(), self.model, problem.obj, problem.path)
        if why is None:
            return finding
        used_file, used_line, written = self._used_at(problem, why)
        used = ("used", used_file or finding.file, used_line or finding.line, written or finding.path_text)
        setting = why.setting
        if why.copied_by:
            names = f"the field is a copy of {why.variable} made by the replacement at {why.copied_by.where}"
            finding.message = (f"{finding.message} (a copy of {why.variable}={why.value}, by the replacement at "
                               f"{why.copied_by.where})")
        else:
            names = f"{why.option or 'the value'} is $({why.variable})"
            finding.message = f"{finding.message} ({names}, {why.variable}={why.value})"
        new = _suggested_value(finding.fix, why.option)
        if new is not None:
            finding.fix = f"set {why.variable} to {new} at {setting.where} ({names}); in flag terms: {finding.fix}"
        else:
            finding.fix = f"{finding.fix} ({names}: change {why.variable} at {setting.where})" if finding.fix else f"change {why.variable} at {setting.where}"
        steps = [("set", setting.file, setting.line, f"{setting.text} ({setting.how})")]
        if why.copied_by:
            steps.append(("copied", why.copied_by.file, why.copied_by.line,
                          f"replacements copy {why.variable} into {finding.path_text}"))
        finding.provenance = tuple(steps) + (used,)
        finding.file, finding.line = setting.file, setting.line
        self.explained[id(finding)] = (why, new)
        return finding

    def _used_at(self, problem, why: Explanation) -> tuple[str | None, int | None, str | None]:
        """The patch line that writes the `$(VAR)` the value arrives through (the last patch
        applied that has it), e.g. base/engines/template.yaml for the engine command."""
        if why.copied_by:
            return None, None, None
        needle = f"$({why.variable})"
        for file in reversed(self.trace().patch_files):
            try:
                lines = Path(file).read_text(encoding="utf-8").splitlines()
            except (OSError, UnicodeDecodeError):
                continue
            for number, text in enumerate(lines, 1):
                if needle in text and (why.option is None or why.option in text
                                       or (number > 1 and why.option in lines[number - 2])):
                    return _shown(file), number, text.strip()
        return None, None, None

    def fold(self, findings: list) -> list:
        """Drop the findings a named cause explains, listing them in the cause's finding."""
        if not self.active or not findings or self.recheck is None:
            return findings
        try:
            return self._fold(findings)
        except Exception:  # as in attach(): never lose findings to a provenance bug
            return findings

    def _fold(self, findings: list) -> list:
        folded: set[int] = set()
        for root in findings:
            if id(root) in folded:
                continue
            fixed = self._fixed_render(root)
            if fixed is None:
                continue
            remaining = self.recheck(fixed)
            if (root.rule, root.object, tuple(root.path)) in remaining:
                continue  # the named fix does not fix the cause itself: claim nothing
            self._fold_into(root, findings, folded, lambda f, root=root, remaining=remaining: (
                _rank(f.severity) <= _rank(root.severity) and (f.rule, f.object, tuple(f.path)) not in remaining))
        return [f for f in findings if id(f) not in folded]

    def _fixed_render(self, root):
        """The render as it would be with the cause `root` names fixed, or None when it names none:
        a setting with the value its fix suggests, or a stale replacement's copies brought up to date."""
        from .objects import K8sObject, Render

        changes: dict[int, list[tuple[tuple, object]]] = {}  # object index -> (path, new value)
        if root.rule == REPLACEMENT_ORDER_RULE:
            obj = next((o for o in self.render.objects if o.ref == root.object), None)
            for rep in stale_replacements(self.trace()) if obj is not None else []:
                if tuple(root.path) not in replaced_paths(rep, obj):
                    continue
                final = self.trace().keys[rep.key][0]
                for o in self.render.objects:
                    for path in replaced_paths(rep, o):
                        old = dig(o.doc, *path)
                        new = int(final) if isinstance(old, int) and final.isdigit() else final
                        changes.setdefault(o.index, []).append((path, new))
        else:
            entry = self.explained.get(id(root))
            if entry is None or entry[1] is None or entry[0].copied_by:
                return None
            why, new = entry
            for o in self.render.objects:
                if o.kind == "ConfigMap" and self.trace().config_map_name(o.name) == why.key[0]:
                    changes.setdefault(o.index, []).append((("data", why.key[1]), new))
        if not changes:
            return None
        objects = []
        for o in self.render.objects:
            if o.index not in changes:
                objects.append(o)
                continue
            doc = copy.deepcopy(o.doc)
            for path, value in changes[o.index]:
                parent = dig(doc, *path[:-1])
                if isinstance(parent, (dict, list)):
                    parent[path[-1]] = value
            objects.append(K8sObject(doc, o.index, o.origin, o.duplicates))
        return Render(self.render.name, self.render.source, objects, self.render.non_objects, self.render.has_origins)

    def _fold_into(self, root, findings, folded, is_consequence) -> None:
        caused = [f for f in findings if f is not root and id(f) not in folded and is_consequence(f)]
        if not caused:
            return
        folded.update(id(f) for f in caused)
        rules = sorted({f.rule for f in caused})
        root.message += f"; this also causes {len(caused)} other finding{'s' if len(caused) > 1 else ''} ({', '.join(rules)})"
        root.provenance = tuple(root.provenance) + tuple(
            ("caused", f.file, f.line, f"[{f.rule}] {f.object}: {f.message}") for f in caused)


def _rank(severity) -> int:
    return ("info", "warning", "error").index(severity.value)


def _suggested_value(fix: str, option: str | None) -> str | None:
    """The value a rule's fix suggests for `option` ('... (e.g. --tp-size 16)' -> '16')."""
    if not option or not fix:
        return None
    found = re.findall(rf"(?<![\w-]){re.escape(option)}(?:=| to | )(-?[0-9][^\s,;)]*)", fix)
    return found[-1] if found else None  # the last: '... (e.g. --tp-size 16)'


def trace_of(model) -> Trace | None:
    """The model's overlay walked once (None for plain YAML input), checked against its render."""
    return model.kustomize_trace


def trace_render(render) -> Trace | None:
    """trace_overlay for a render (see Model.kustomize_trace)."""
    if render.source != "kustomize":
        return None
    rendered = {o.name: o.doc.get("data") for o in render.objects if o.kind == "ConfigMap"}
    return trace_overlay(Path(render.name), rendered)
