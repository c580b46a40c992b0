"""Shared by the flag rules: the argparse problems of every SGLang/router container, located."""

from __future__ import annotations

from functools import lru_cache

from ...catalog import available_versions, load_catalog
from ...model import ContainerRun
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
    fieldRef, ... or a $(VAR) kubelet leaves literal (reported by unresolved-variable)."""
    if "$(" in text:
        return True
    return any(f"<{v.source}>" in text for v in c.env.values() if v.value is None)


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


def guess_note(c: ContainerRun) -> str:
    """' (checked against a guessed catalog: ...)' when the image names no version, else ''."""
    from ...catalog import version_from_image

    if c.catalog_note and version_from_image(c.image or "") is None:
        return f" (checked against a guessed catalog: {c.catalog_note})"
    return ""
