"""Reading YAML safely: size and alias-expansion limits, duplicate keys, Kubernetes scalar rules.

Rendered manifests are parsed with PyYAML's C loader for speed; positions for findings come later
from ruamel.yaml (see sources.py), only for the files a finding points into.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from .errors import InputError

# Manifests are kilobytes; exported CRDs reach ~2 MB. Anything past this is almost surely a mistake
# (a log, a model file) and parsing it would only burn time.
MAX_INPUT_BYTES = 16 * 1024 * 1024
# A YAML alias bomb ("billion laughs") expands a tiny file into billions of nodes.
MAX_EXPANDED_NODES = 2_000_000
# Kubernetes objects nest a few dozen levels (CRD schemas the most). libyaml stops at 1000, but anything
# near that makes every recursive consumer (repr in jsonschema messages, ...) hit Python's recursion limit.
MAX_DEPTH = 200

_BaseLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Resolver(yaml.resolver.Resolver):
    """YAML 1.1 scalars as Kubernetes reads them: no timestamps (sigs.k8s.io/yaml keeps them strings)."""


_Resolver.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.resolver.Resolver.yaml_implicit_resolvers.items()
}


@dataclass
class DuplicateKey:
    key: str
    line: int  # 1-based


@dataclass
class Document:
    data: object
    index: int  # position in its stream, 0-based, counting empty documents
    line: int  # 1-based line where the document starts
    duplicates: list[DuplicateKey] = field(default_factory=list)


class _Loader(_BaseLoader):
    yaml_implicit_resolvers = _Resolver.yaml_implicit_resolvers

    def __init__(self, stream):
        super().__init__(stream)
        self.duplicates: list[DuplicateKey] = []

    def construct_document(self, node):
        _check_expansion(node)
        try:
            return super().construct_document(node)
        except _CONSTRUCT_ERRORS as exc:  # raised after construct_object, in a collection's generator (`!!map x`)
            raise _cannot_construct(node, exc, "a tagged value in this document") from None

    def construct_object(self, node, deep=False):
        try:
            return super().construct_object(node, deep=deep)
        except _CONSTRUCT_ERRORS as exc:  # a value its tag does not fit: `!!int x`, `!!bool maybe`, `!!timestamp x`
            raise _cannot_construct(node, exc) from None

    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _ in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
            if key is not None:
                if key in seen and key != "<<":
                    self.duplicates.append(DuplicateKey(str(key), key_node.start_mark.line + 1))
                seen.add(key)
        return super().construct_mapping(node, deep=deep)


# PyYAML's constructors raise these (not YAMLError) for explicitly tagged values they cannot build,
# and for integers over CPython's 4300-digit text conversion limit.
_CONSTRUCT_ERRORS = (ValueError, TypeError, LookupError, AttributeError, OverflowError)


def _cannot_construct(node, exc: Exception, what: str = "") -> yaml.constructor.ConstructorError:
    detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    detail = detail if len(detail) <= 100 else detail[:97] + "..."
    return yaml.constructor.ConstructorError(None, None, f"cannot construct {what or node.tag + ' from this value'} ({detail})",
                                             node.start_mark)


# No Kubernetes field holds an integer anywhere near this; past ~4300 digits CPython cannot even print
# one (ValueError in every message that shows it), and hex/octal/binary literals have no length limit.
MAX_INT = 10**1000


def _construct_int(loader, node):
    value = _BaseLoader.construct_yaml_int(loader, node)
    if not -MAX_INT < value < MAX_INT:
        raise yaml.constructor.ConstructorError(None, None, "integer too large (more than 1000 digits)", node.start_mark)
    return value


_Loader.add_constructor("tag:yaml.org,2002:int", _construct_int)


def _construct_value(loader, node):  # the '=' scalar (yaml/pyyaml#89) is a plain string to Kubernetes
    return str(node.value)


_Loader.add_constructor("tag:yaml.org,2002:value", _construct_value)


def _check_expansion(root) -> None:
    """Refuse documents whose aliases expand past MAX_EXPANDED_NODES, or that nest past MAX_DEPTH.

    Iterative post-order walk with a size and height per node (aliases share nodes, so each is sized once).
    """
    sizes: dict[int, int] = {}
    heights: dict[int, int] = {}
    open_nodes: set[int] = set()
    stack = [root]
    while stack:
        node = stack[-1]
        nid = id(node)
        if nid in sizes:
            stack.pop()
            continue
        if isinstance(node, yaml.ScalarNode):
            sizes[nid] = heights[nid] = 1
            stack.pop()
            continue
        kids = [n for pair in node.value for n in pair] if isinstance(node, yaml.MappingNode) else node.value
        if nid in open_nodes:  # second visit: children are sized
            total = 1 + sum(sizes[id(k)] for k in kids)
            if total > MAX_EXPANDED_NODES:
                raise _TooLarge()
            sizes[nid] = total
            heights[nid] = 1 + max((heights[id(k)] for k in kids), default=0)
            if heights[nid] > MAX_DEPTH:
                raise _TooDeep()
            open_nodes.discard(nid)
            stack.pop()
            continue
        open_nodes.add(nid)
        for kid in kids:
            if id(kid) in open_nodes:  # an alias to its own ancestor: infinite expansion
                raise _TooLarge()
            if id(kid) not in sizes:
                stack.append(kid)


class _TooLarge(Exception):
    pass


class _TooDeep(Exception):
    pass


def decode(raw: bytes, name: str) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(name, f"not UTF-8 text (invalid byte at offset {exc.start})") from None


def read_text(path: Path | str) -> str:
    """Read a file (or '-' for stdin) as UTF-8 within the size limit, or raise InputError."""
    name = str(path)
    if name == "-":
        raw = sys.stdin.buffer.read(MAX_INPUT_BYTES + 1)
        name = "<stdin>"
    else:
        p = Path(path)
        try:
            size = p.stat().st_size
            if not p.is_file():
                raise InputError(name, "not a regular file")
            if size > MAX_INPUT_BYTES:
                raise InputError(name, f"file is {size / 2**20:.1f} MiB, over the {MAX_INPUT_BYTES // 2**20} MiB limit for a manifest")
            with open(p, "rb") as f:  # bounded: /proc files report size 0 and never end
                raw = f.read(MAX_INPUT_BYTES + 1)
        except FileNotFoundError:
            raise InputError(name, "no such file or directory") from None
        except PermissionError:
            raise InputError(name, "permission denied") from None
        except IsADirectoryError:
            raise InputError(name, "is a directory") from None
        except OSError as exc:
            raise InputError(name, f"cannot read: {exc.strerror or exc}") from None
    if len(raw) > MAX_INPUT_BYTES:
        raise InputError(name, f"input is over the {MAX_INPUT_BYTES // 2**20} MiB limit for a manifest")
    return decode(raw, name)


def load_documents(text: str, name: str, first_only: bool = False) -> list[Document]:
    """Parse a multi-document YAML stream; InputError (naming the file and line) when it is not YAML.

    first_only: stop after the first document, as kustomize does with a kustomization file."""
    loader = _Loader(text)
    docs: list[Document] = []
    try:
        index = 0
        while loader.check_node():
            node = loader.get_node()
            start = node.start_mark.line + 1 if node is not None else 1
            loader.duplicates = []
            data = loader.construct_document(node) if node is not None else None
            docs.append(Document(data, index, start, sorted(loader.duplicates, key=lambda d: d.line)))
            index += 1
            if first_only:
                break
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = exc.problem or exc.context or "invalid YAML"
        raise InputError(name, f"invalid YAML{where}: {problem}") from None
    except yaml.YAMLError as exc:
        raise InputError(name, f"invalid YAML: {str(exc).splitlines()[0]}") from None
    except _TooLarge:
        raise InputError(name, f"YAML aliases expand past {MAX_EXPANDED_NODES:,} nodes (an alias bomb?)") from None
    except (RecursionError, _TooDeep):
        raise InputError(name, f"YAML nested too deeply to be a Kubernetes manifest (over {MAX_DEPTH} levels)") from None
    finally:
        loader.dispose()
    return docs


def dump_all(objs: list[dict]) -> str:
    """Render objects back to YAML the way kubectl prints them (block style, key order kept)."""
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    return yaml.dump_all(objs, Dumper=dumper, sort_keys=False, default_flow_style=False, allow_unicode=True, width=4096)
