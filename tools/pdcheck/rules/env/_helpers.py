"""Shared by the env rules: which SGLANG_/SGL_ names a SGLang version reads, and where a variable is defined."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

from ...catalog import version_key
from ...model import ContainerRun, Model, dig, version_guess_note
from .._util import engine_containers

# Releases whose sglang/srt/environ.py copies every SGL_X to SGLANG_X at import (with a
# deprecation warning): _convert_SGL_to_SGLANG in 0.5.6.post2 (environ.py:380-398),
# _handle_deprecated_envs in 0.5.23 (environ.py:2294-2305). 0.4.10.post2 has no environ.py and
# reads the SGL_ names as written. Versions in between are not known: rules stay silent there.
SGL_REWRITE_FROM = "0.5.6.post2"
NO_SGL_REWRITE_UP_TO = "0.4.10.post2"

# Old names kept alive by EnvXxxWithAlias(deprecated_name=...) in sglang/srt/environ.py. The
# catalogs list only the canonical names, so these are added here (0.5.23 environ.py:744, 1077,
# 1341, 2029). Keyed by the first catalog version that has them.
DEPRECATED_ALIASES = {
    "0.5.23": {
        "SGLANG_OPT_SWA_RELEASE_LEAF_LOCK_AFTER_WINDOW": "SGLANG_OPT_RELEASE_PREFILL_SWA",
        "SGLANG_AITER_MLA_DCP_DECODE_BACKEND": "SGLANG_AITER_MLA_DECODE_BACKEND",
        "SGLANG_EPLB_ROCM_P2P_BATCH_CHUNK_SIZE": "SGLANG_EPLB_P2P_BATCH_CHUNK_SIZE",
        "SGLANG_USE_TRITON_ROUTER_SUM": "SGLANG_USE_CUSTOM_ROUTER_SUM",
    },
}

SGLANG_PREFIXES = ("SGLANG_", "SGL_")


def catalog_of(c: ContainerRun):
    return c.parsed.catalog if c.parsed is not None else None


def rewrites_sgl(version: str) -> bool | None:
    """True when this SGLang copies SGL_X to SGLANG_X, False when it does not, None if unknown."""
    key = version_key(version)
    if key >= version_key(SGL_REWRITE_FROM):
        return True
    if key <= version_key(NO_SGL_REWRITE_UP_TO):
        return False
    return None


def aliases(version: str) -> dict[str, str]:
    """Deprecated alias -> canonical name, for the newest alias table not newer than `version`."""
    found: dict[str, str] = {}
    for since, table in DEPRECATED_ALIASES.items():
        if version_key(since) <= version_key(version):
            found.update(table)
    return found


def counterpart(name: str) -> str | None:
    if name.startswith("SGLANG_"):
        return "SGL_" + name[len("SGLANG_"):]
    if name.startswith("SGL_"):
        return "SGLANG_" + name[len("SGL_"):]
    return None


def did_you_mean(name: str, known) -> str | None:
    other = counterpart(name)
    if other and other in known:
        return other
    close = difflib.get_close_matches(name, sorted(known), n=1, cutoff=0.75)
    return close[0] if close else None


def definition_site(model: Model, wl, c: ContainerRun, name: str, field: str = "name"):
    """(object, field path) where `name` is defined: the ConfigMap data key for envFrom, else the env entry."""
    var = c.env[name]
    if var.source.startswith("envFrom:ConfigMap/"):
        cm_name = var.source.split("/", 1)[1]
        cm = model.config_maps.get((wl.obj.namespace, cm_name))
        prefix = dig(wl.obj.doc, *var.path, "prefix", default="") if var.path else ""
        key = name[len(prefix):] if isinstance(prefix, str) and prefix and name.startswith(prefix) else name
        if cm is not None and isinstance(dig(cm.doc, "data", default=None), dict) and key in cm.doc["data"]:
            return cm, ("data", key)
    if var.path:
        return wl.obj, var.path + ((field,) if var.source == "env" else ())
    return wl.obj, c.path + ("env",)


def who(wl, pod, c: ContainerRun) -> str:
    from .._util import describe_pod

    return f"{describe_pod(pod)} container {c.name!r}"


def sglang_env_uses(model: Model, select):
    """(object, path, name, value, catalog, users, guess) per definition of an engine env var for
    which `select(name, catalog)` returns a value (None: not of interest). One entry per place the
    variable is written and SGLang version, listing every container that gets it from there; `guess`
    says which catalog was assumed and how to pin one when the image names no release ('' otherwise)."""
    found: dict[tuple, list] = {}
    for wl, pod, c in engine_containers(model):
        catalog = catalog_of(c)
        if catalog is None or not catalog.env_vars:
            continue
        for name in c.env:
            value = select(name, catalog)
            if value is None:
                continue
            obj, path = definition_site(model, wl, c, name)
            entry = found.setdefault((id(obj), path, catalog.version), [obj, path, name, value, catalog, [], ""])
            entry[5].append(who(wl, pod, c))
            entry[6] = entry[6] or version_guess_note(c)
    return [tuple(entry) for entry in found.values()]


# $NAME or ${NAME} not preceded by another $ ($$ is kubelet's escape for a literal $).
SHELL_VAR = re.compile(r"(?<!\$)\$(\{[A-Za-z_][A-Za-z0-9_]*\}|[A-Za-z_][A-Za-z0-9_]*)")


@dataclass
class ShellReference:
    """A shell-style `$NAME` / `${NAME}` that reaches a program literally (no shell runs it)."""

    text: str  # as written: '$HF_TOKEN', '${MODEL}'
    name: str
    path: tuple  # field path of the argv item or env value
    env_name: str | None  # the env var whose value holds it; None in command/args
    defined: bool = False  # the container's env defines NAME (before this env var): `$(NAME)` was meant

    @property
    def is_template(self) -> bool:
        """The envsubst template convention: a variable the container does not define (envsubst
        fills it in before `kubectl apply`), or an env var set to its own name (`HF_TOKEN: $HF_TOKEN`)."""
        return self.env_name == self.name or not self.defined


def shell_references(c: ContainerRun):
    """The first literal $NAME / ${NAME} of each argv item (outside a `sh -c` script, where the shell
    expands it) and of each env value of a container."""
    for i, item in enumerate(c.raw_argv):
        m = SHELL_VAR.search(item) if i != c.script_index else None
        if m:
            name = m.group(1).strip("{}")
            yield ShellReference(m.group(0), name, c.argv_path(i), None, name in c.env)
    names = list(c.env)
    for var in c.env.values():
        m = SHELL_VAR.search(var.raw) if var.source == "env" and var.raw else None
        if m:
            name = m.group(1).strip("{}")
            defined_before = name in c.env and names.index(name) < names.index(var.name)
            yield ShellReference(m.group(0), name, var.path + ("value",), var.name, defined_before)
