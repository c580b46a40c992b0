"""Turning the paths a user gives into inputs: overlays to render, YAML files, stdin.

Discovery rule for a directory that is not itself a kustomization: every kustomization below it
(hidden directories, virtualenvs and node_modules skipped) that is not a Kustomize Component and is
not referenced by another kustomization found there. So `overlays/` yields each overlay, and the
repository root yields the overlays but not `base/` (referenced) or `profiles/*` (Components).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from .errors import InputError
from .kustomizations import KUSTOMIZATION_FILES, kustomization_file, read_kustomization, remote_form

_SKIP_DIRS = {"node_modules", "__pycache__"}


@dataclass(frozen=True)
class Input:
    kind: str  # 'kustomize' | 'file' | 'stdin'
    path: Path
    display: str


def referenced_dirs(kdir: Path, kustomization: dict) -> set[Path]:
    """Local directories a kustomization pulls in (resources, bases, components)."""
    out = set()
    for key in ("resources", "bases", "components"):
        entries = kustomization.get(key)
        if not isinstance(entries, list):
            continue
        for entry in entries:
            if isinstance(entry, str) and not remote_form(entry):
                target = (kdir / entry).resolve()
                if target.is_dir():
                    out.add(target)
    return out


def display_path(path: Path) -> str:
    try:
        rel = os.path.relpath(path)
    except ValueError:  # another drive on Windows
        return str(path)
    return str(path) if rel.startswith("../..") else rel


def _walk_kustomizations(root: Path) -> list[Path]:
    found = []
    for current, dirs, _files in os.walk(root):
        here = Path(current)
        dirs[:] = sorted(
            d for d in dirs
            if not d.startswith(".") and d not in _SKIP_DIRS and not (here / d / "pyvenv.cfg").exists()
        )
        if kustomization_file(here):
            found.append(here)
    return found


def discover_overlays(root: Path, errors: list[InputError] | None = None) -> list[Path]:
    """The overlays under a directory that is not itself a kustomization (see module doc).

    errors: where a kustomization that cannot be read is recorded (and left out) instead of raised."""
    candidates = {}
    for kdir in _walk_kustomizations(root):
        try:
            candidates[kdir.resolve()] = read_kustomization(kustomization_file(kdir))
        except InputError as err:
            if errors is None:
                raise
            errors.append(err)
    referenced = set()
    for kdir, data in candidates.items():
        referenced |= referenced_dirs(kdir, data)
    return sorted(
        kdir for kdir, data in candidates.items()
        if data.get("kind") != "Component" and kdir not in referenced
    )


def resolve_inputs(paths: list[str], errors: list[InputError] | None = None) -> list[Input]:
    """The inputs the paths name. A path that names none raises InputError, or with `errors` given
    is recorded there and the other paths are still resolved (one bad input hides nothing)."""
    inputs: list[Input] = []
    for raw in paths:
        try:
            inputs.extend(_resolve_path(raw, errors))
        except InputError as err:
            if errors is None:
                raise
            errors.append(err)
    return inputs


def _resolve_path(raw: str, errors: list[InputError] | None) -> list[Input]:
    if raw == "-":
        return [Input("stdin", Path("-"), "<stdin>")]
    path = Path(raw)
    if not path.exists():
        raise InputError(raw, "no such file or directory")
    if path.is_file():
        if path.name in KUSTOMIZATION_FILES:  # a kustomization file means its overlay
            return [_overlay(path.parent)]
        return [Input("file", path, display_path(path.resolve()))]
    if not path.is_dir():
        raise InputError(raw, "not a file or directory")
    if kustomization_file(path):
        return [_overlay(path)]
    recorded = len(errors) if errors is not None else 0
    overlays = discover_overlays(path, errors)
    if not overlays and (errors is None or len(errors) == recorded):  # (a broken kustomization is its own error)
        raise InputError(raw, "holds no kustomization to render (looked for kustomization.yaml in it and below it)")
    return [Input("kustomize", o, display_path(o)) for o in overlays]


def _overlay(directory: Path) -> Input:
    """The overlay in a directory holding a kustomization."""
    if read_kustomization(kustomization_file(directory)).get("kind") == "Component":
        raise InputError(display_path(directory.resolve()),
                         "is a Kustomize Component, which cannot be built alone; validate an overlay that uses it")
    return Input("kustomize", directory.resolve(), display_path(directory.resolve()))
