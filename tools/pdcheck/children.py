"""The kustomize processes pdcheck starts: killed with pdcheck, whatever stops it.

Each build runs in its own process group (so a timeout also stops what kustomize started), which
also means a Ctrl-C on the terminal or a SIGTERM from CI does not reach it. So every group is
registered while it runs, and stop_all() kills them: guarded() (around cli.main) calls it on the
way out (an error, success) and from its Ctrl-C / SIGTERM handler, and no build starts after it.

Wrapper directories (render.py) are created as `pdcheck-<pid>-*`: the worker threads remove
their own once their kustomize is gone, and sweep_stale_wrappers() removes those of pdcheck runs
that were SIGKILLed (their pid no longer exists) the next time a wrapper is made.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import tempfile
import threading
import time
from contextlib import contextmanager

_lock = threading.RLock()  # re-entrant: the SIGTERM handler may run while this thread holds it
_groups: set[int] = set()
_stopping = threading.Event()
_swept = False
WRAPPER_PREFIX = "pdcheck-"
_WRAPPER_NAME = re.compile(r"^pdcheck-(\d+)-")
STALE_WRAPPER_S = 60  # older than any build of a live run could make it look dead (pid reuse)


class Stopping(Exception):
    """pdcheck is stopping: no new build starts."""


def register(pid: int) -> None:
    with _lock:
        if _stopping.is_set():
            _kill_group(pid)
            raise Stopping()
        _groups.add(pid)


def unregister(pid: int) -> None:
    with _lock:
        _groups.discard(pid)


def stop_all() -> None:
    """Kill every running build's process group; refuse new ones from now on."""
    with _lock:
        _stopping.set()
        for pid in list(_groups):
            _kill_group(pid)
        _groups.clear()


def _kill_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


@contextmanager
def guarded():
    """Around a whole command (cli.main): SIGTERM (CI cancelling a job, `timeout`, `kill`) and
    Ctrl-C stop the builds, remove this run's wrapper directories and end pdcheck at once with
    128 + the signal number; whatever else ends the command (an error, success) leaves no build
    running either.

    The handler ends the process itself (os._exit) instead of raising into the main thread: an
    exception raised at an arbitrary bytecode lands inside imports, dataclass definitions or lock
    callbacks, where Python reports it as a different error or prints it as "Exception ignored"
    and carries on (both seen in CI)."""
    _stopping.clear()
    installed = {}
    if threading.current_thread() is threading.main_thread():
        for signum, default in ((signal.SIGTERM, signal.SIG_DFL), (signal.SIGINT, signal.default_int_handler)):
            if signal.getsignal(signum) in (default, None):
                installed[signum] = signal.signal(signum, _stop_now)
    try:
        yield
    finally:
        stop_all()
        for signum, previous in installed.items():  # pdcheck called in-process (tests) hands them back
            signal.signal(signum, previous if previous is not None else signal.SIG_DFL)


def _stop_now(signum, frame):
    stop_all()
    for leftover in _own_wrappers():
        shutil.rmtree(leftover, ignore_errors=True)
    try:
        os.write(2, f"pdcheck: stopped by {signal.Signals(signum).name}\n".encode())
    except OSError:
        pass
    os._exit(128 + signum)


def _own_wrappers() -> list[str]:
    root, prefix = tempfile.gettempdir(), f"{WRAPPER_PREFIX}{os.getpid()}-"
    try:
        return [entry.path for entry in os.scandir(root) if entry.name.startswith(prefix)]
    except OSError:
        return []


def wrapper_prefix() -> str:
    """Prefix of this process' wrapper directories; sweeps dead runs' leftovers once per process."""
    global _swept
    if not _swept:
        _swept = True
        sweep_stale_wrappers()
    return f"{WRAPPER_PREFIX}{os.getpid()}-"


def sweep_stale_wrappers(now: float | None = None) -> None:
    now = time.time() if now is None else now
    root = tempfile.gettempdir()
    try:
        entries = list(os.scandir(root))
    except OSError:
        return
    for entry in entries:
        match = _WRAPPER_NAME.match(entry.name)
        if not match or int(match[1]) == os.getpid():
            continue
        try:
            if not entry.is_dir(follow_symlinks=False) or now - entry.stat(follow_symlinks=False).st_mtime < STALE_WRAPPER_S:
                continue
            os.kill(int(match[1]), 0)
            continue  # its run is alive
        except ProcessLookupError:
            shutil.rmtree(entry.path, ignore_errors=True)
        except (OSError, OverflowError):
            continue
