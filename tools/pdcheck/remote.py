"""No network by default: refuse overlays whose kustomization closure names remote targets.

kustomize fetches http(s) resources and clones git repositories named anywhere in the closure
(kustomizations.py lists the forms). On an untrusted pull request that is a request to any host the
author chooses, content pdcheck never saw in review, and a run that waits on a server that never
answers. So before anything is rendered, every overlay's closure is read and an overlay with a remote
reference is an input error (exit 2) naming the kustomization and the entry, while the others are
checked (`pdcheck render` and `plan` stop at the first); `--allow-remote` lets
kustomize fetch them, within PDCHECK_REMOTE_TIMEOUT seconds per build.
"""

from __future__ import annotations

import os

from .errors import InputError
from .kustomizations import KustomizationReader

ALLOW_REMOTE_ENV = "PDCHECK_ALLOW_REMOTE"
REMOTE_TIMEOUT_S = 30.0


def remote_timeout() -> float:
    try:
        value = float(os.environ.get("PDCHECK_REMOTE_TIMEOUT", REMOTE_TIMEOUT_S))
    except ValueError:
        return REMOTE_TIMEOUT_S
    return value if value > 0 else REMOTE_TIMEOUT_S


def remote_errors(inputs: list) -> tuple[KustomizationReader, list[tuple[object, InputError]]]:
    """(reader, [(input, InputError)]) for every overlay whose closure names a remote target (or
    cannot be read, since then pdcheck cannot tell whether it does). The reader has resolved every
    closure: the cache key (cache.ClosureHasher) reuses it."""
    reader, refused = KustomizationReader(), []
    for item in inputs:
        if item.kind != "kustomize":
            continue
        closure = reader.closure(item.path)
        if closure.remote:
            ref = closure.remote[0]
            refused.append((item, InputError(_display(ref.file), f"remote {ref.describe()}: pdcheck does not fetch "
                                             "remote bases or files by default (vendor it into the repository, or pass --allow-remote)")))
        elif closure.unreadable:
            error = closure.unreadable[0]
            refused.append((item, InputError(_display(error.file) if error.file else None, error.message)))
    return reader, refused


def refuse_remote(inputs: list) -> KustomizationReader:
    """remote_errors, raising the first (for commands that stop at the first bad input)."""
    reader, refused = remote_errors(inputs)
    if refused:
        raise refused[0][1]
    return reader


def has_remote(overlay) -> bool:
    """Whether building `overlay` fetches something (only reached with --allow-remote)."""
    return bool(KustomizationReader().closure(overlay).remote)


def _display(path: str) -> str:
    from pathlib import Path

    from .discover import display_path

    return display_path(Path(path))
