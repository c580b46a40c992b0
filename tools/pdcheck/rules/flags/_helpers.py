"""Shared by the flag rules: the argparse problems of every SGLang/router container, located."""

from __future__ import annotations

from functools import lru_cache

from ...catalog import available_versions, load_catalog
from ...findings import Severity
from ...model import ContainerRun, known_at_render
from .._util import all_containers

SGLANG_ARGS_056 = "https://github.com/sgl-project/sglang/blob/v0.5.6.post2/python/sglang/srt/server_args.py"
SGLANG_ARGS_0523 = "https://github.com/sgl-project/sglang/blob/v0.5.23/python/sglang/srt/server_args.py"
ROUTER_LAUNCH = "https://github.com/sgl-project/sglang/blob/v0.5.6.post2/sgl-router/py_src/sglang_router/router_args.py"
ARGPARSE = "https://github.com/python/cpython/blob/3.11/Lib/argparse.py"


def program_text(c: ContainerRun) -> str:
    return f"{c.parsed.catalog.program} {c.parsed.catalog.version}"


def where(wl, pod, c: ContainerRun) -> str:
    return f"container {c.name!r} of {wl.kind} {wl.name}"


def problem_path(c: ContainerRun, index: int) -> tuple:
    if index >= 0 and index < len(c.flags):
        return c.flag_path(index)
    return c.path + (("args",) if c.spec.get("args") else ("command",))


def runtime_only(c: ContainerRun, text: str) -> bool:
    """True when a value holds something only known at run time: a <placeholder> for a Secret,
    fieldRef or an opaque part of a shell script, or a $(VAR) kubelet leaves literal (reported by
    unresolved-variable)."""
    return not known_at_render(text)


def parsed_containers(model):
    for wl, pod, c in all_containers(model):
        if c.parsed is not None:
            yield wl, pod, c


@lru_cache(maxsize=None)
def _versions_with(program: str, option_string: str) -> tuple[str, ...]:
    found = []
    for version in available_versions(program):
        try:
            if option_string in load_catalog(program, version).option_strings:
                found.append(version)
        except Exception:  # a broken catalog must not break a rule
            continue
    return tuple(found)


def other_versions_with(c: ContainerRun, option_string: str) -> tuple[str, ...]:
    return tuple(v for v in _versions_with(c.parsed.catalog.program, option_string) if v != c.parsed.catalog.version)


def at_most(c: ContainerRun) -> Severity | None:
    """WARNING for findings that depend on a catalog pdcheck had to guess, else None (no cap)."""
    return Severity.WARNING if c.catalog_guessed else None
