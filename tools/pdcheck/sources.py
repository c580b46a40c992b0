"""Mapping a finding (object + field path) back to a file and line, with ruamel.yaml positions.

Only files that findings point into are parsed, once each. Kustomize may have renamed the object
(namePrefix) or merged patches into it, so the lookup is best effort: it finds the document by kind
and name, follows the field path (list items by their `name` where they have one), and stops at the
deepest node that exists in the source, which still points at the right object and section.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

from .objects import K8sObject


@lru_cache(maxsize=256)
def _load(path: str):
    from ruamel.yaml import YAML

    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError):
        return None
    yaml = YAML(typ="rt")
    yaml.allow_duplicate_keys = True
    try:
        docs = list(yaml.load_all(text))
    except Exception:  # positions are a nicety: any parse trouble means "no line"
        return None
    return docs, text, _Index(docs)


def _doc_line(node) -> int | None:
    lc = getattr(node, "lc", None)
    return lc.line + 1 if lc is not None and lc.line is not None else None


def _name(doc: dict, default=None):
    meta = doc.get("metadata") or {}
    return meta.get("name", default) if isinstance(meta, dict) else default


class _Index:
    """A file's documents by kind and name, built once per file: a lookup per finding is then
    constant time (a scan per finding made 5,000 findings in one file take minutes)."""

    MAX_NAME = 128  # names longer than this are matched by a scan instead (substrings grow as n**2)

    def __init__(self, docs: list):
        self.by_kind: dict = {}
        self.exact: dict = {}
        self.names: dict = {}  # kind -> {str(name): [count, first doc]}
        for d in docs:
            if not isinstance(d, dict):
                continue
            kind = d.get("kind")
            try:
                self.by_kind.setdefault(kind, []).append(d)
            except TypeError:  # an unhashable kind: no object has it
                continue
            name = _name(d)
            try:
                self.exact.setdefault((kind, name), d)
            except TypeError:
                pass
            entry = self.names.setdefault(kind, {}).setdefault(str(_name(d, "")), [0, d])
            entry[0] += 1

    def pick(self, obj: K8sObject):
        """The document `obj` came from: same kind and name; else the one document of its kind whose
        name is inside the rendered name (namePrefix/nameSuffix); else the only one of its kind."""
        try:
            same_kind = self.by_kind.get(obj.kind, [])
            exact = self.exact.get((obj.kind, obj.name))
        except TypeError:
            return None
        if exact is not None:
            return exact
        names = self.names.get(obj.kind, {})
        rendered = str(obj.name)
        if len(rendered) <= self.MAX_NAME:
            inside = {rendered[i:j] for i in range(len(rendered) + 1) for j in range(i, len(rendered) + 1)}
            found = [names[n] for n in inside if n in names]
        else:
            found = [entry for n, entry in names.items() if n in rendered]
        if sum(count for count, _ in found) == 1:
            return found[0][1]
        return same_kind[0] if len(same_kind) == 1 else None


def _pick_document(loaded, obj: K8sObject):
    docs, _, index = loaded
    if obj.origin.doc_index is not None:
        return docs[obj.origin.doc_index] if obj.origin.doc_index < len(docs) else None
    return index.pick(obj)


def _walk(node, path: tuple, rendered) -> int | None:
    """Line of the deepest part of `path` found in `node` (a ruamel structure)."""
    line = _doc_line(node)
    for key in path:
        if isinstance(key, int):
            if not isinstance(node, list):
                break
            want = rendered[key].get("name") if isinstance(rendered, list) and key < len(rendered) and isinstance(rendered[key], dict) else None
            idx = None
            if want is not None:
                idx = next((i for i, item in enumerate(node) if isinstance(item, dict) and item.get("name") == want), None)
            elif key < len(node):
                idx = key
            if idx is None:
                break
            try:
                line = node.lc.item(idx)[0] + 1
            except (AttributeError, KeyError, TypeError):
                pass
            node = node[idx]
            rendered = rendered[key] if isinstance(rendered, list) and key < len(rendered) else None
        else:
            if not isinstance(node, dict) or key not in node:
                break
            try:
                line = node.lc.key(key)[0] + 1
            except (AttributeError, KeyError, TypeError):
                pass
            node = node[key]
            rendered = rendered.get(key) if isinstance(rendered, dict) else None
    return line


def locate(obj: K8sObject, path: tuple) -> tuple[str | None, int | None]:
    file = obj.origin.file
    if not file:
        return None, None
    if obj.origin.generated_by:  # generated (e.g. configMapGenerator): point at the generator entry
        loaded = _load(file)
        if loaded:
            # Rendered 'prefix-cfg-<hash>' (or 'prefix-cfg' without the hash) came from 'name: cfg'.
            rendered = obj.name
            for i, text_line in enumerate(loaded[1].splitlines(), 1):
                m = re.search(r"\bname:\s*[\"']?([A-Za-z0-9.-]+)", text_line)
                if m and (rendered.endswith(m.group(1)) or rendered.rsplit("-", 1)[0].endswith(m.group(1))):
                    return file, i
        return file, None
    loaded = _load(file)
    if not loaded:
        return file, obj.origin.doc_line
    doc = _pick_document(loaded, obj)
    if doc is None:
        return file, obj.origin.doc_line
    return file, _walk(doc, path, obj.doc) or obj.origin.doc_line
