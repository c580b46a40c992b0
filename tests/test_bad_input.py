"""Malformed input never escapes as a traceback and never hangs.

Input pdcheck cannot read exits 2 with one line naming the file; content it can read but that is
wrong (non-object documents, unknown kinds, wrong types, duplicate keys) gets findings instead.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

DEPLOYMENT = """apiVersion: apps/v1
kind: Deployment
metadata: {name: d}
spec:
  selector: {matchLabels: {a: b}}
  template:
    metadata: {labels: {a: b}}
    spec:
      containers: [{name: c, image: "busybox:1.36"}]
"""
BOMB = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join([f'*{chr(97 + i)}'] * 9)}]\n" for i in range(8)
)


def _kustomize_tree(root: Path, kustomization: str, files: dict[str, str] | None = None) -> Path:
    d = root / "ov"
    d.mkdir()
    (d / "kustomization.yaml").write_text(kustomization)
    for name, text in (files or {}).items():
        (d / name).write_text(text)
    return d


def case_file(name, content):
    def make(tmp: Path):
        path = tmp / name
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
        return [str(path)], None
    return make


def case_tree(kustomization, files=None):
    def make(tmp: Path):
        return [str(_kustomize_tree(tmp, kustomization, files))], None
    return make


def make_huge(tmp: Path):
    path = tmp / "huge.yaml"
    chunk = ("# padding " + "x" * 90 + "\n").encode()
    with path.open("wb") as fh:
        for _ in range(50 * 1024 * 1024 // len(chunk) + 1):
            fh.write(chunk)
    return [str(path)], None


def make_hanging_kustomize(tmp: Path):
    script = tmp / "slow-kustomize"
    script.write_text("#!/bin/sh\nsleep 30\n")
    script.chmod(0o755)
    ov = _kustomize_tree(tmp, "resources: [d.yaml]\n", {"d.yaml": DEPLOYMENT})
    return [str(ov), "--kustomize", str(script)], {"PDCHECK_RENDER_TIMEOUT": "1"}


# (id, builder, expected exit code, text the single stderr line must contain)
CORPUS = [
    ("broken-yaml", case_file("broken.yaml", "a: [1, 2\n"), 2, "broken.yaml"),
    ("tab-indent", case_file("tabs.yaml", "a:\n\tb: c\n"), 2, "tabs.yaml"),
    ("not-utf8", case_file("latin1.yaml", b"metadata:\n  name: caf\xe9\n"), 2, "not UTF-8"),
    ("binary", case_file("image.yaml", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), 2, "image.yaml"),
    ("empty-file", case_file("empty.yaml", ""), 2, "no Kubernetes objects"),
    ("comments-only", case_file("comments.yaml", "# nothing here\n---\n"), 2, "no Kubernetes objects"),
    ("alias-bomb", case_file("bomb.yaml", BOMB), 2, "alias"),
    ("undefined-alias", case_file("alias.yaml", "a: *nope\n"), 2, "alias.yaml"),
    ("deep-nesting", case_file("deep.yaml", "[" * 20000 + "]" * 20000), 2, "deep.yaml"),
    ("huge-file", make_huge, 2, "limit"),
    ("missing-file", lambda tmp: ([str(tmp / "nope.yaml")], None), 2, "no such file"),
    ("dir-without-kustomization", lambda tmp: ([str(tmp)], None), 2, "no kustomization"),
    ("kustomize-build-error", case_tree("resources: [d.yaml]\nnamePrefix: [not, a, string]\n", {"d.yaml": DEPLOYMENT}), 2, "kustomize build failed"),
    ("missing-resource", case_tree("resources: [missing.yaml]\n"), 2, "missing.yaml"),
    ("kustomization-not-yaml", case_tree("resources: [\n"), 2, "kustomization.yaml"),
    ("kustomization-a-list", case_tree("- a\n- b\n"), 2, "kustomization"),
    ("component-alone", case_tree("apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\n"), 2, "Component"),
    ("kustomize-hangs", make_hanging_kustomize, 2, "did not finish"),
    ("kustomize-missing-binary", lambda tmp: ([str(_kustomize_tree(tmp, "resources: []\n")), "--kustomize", str(tmp / "no-such-kustomize")], None), 2, "not found"),
    ("bad-k8s-version", lambda tmp: (case_file("d.yaml", DEPLOYMENT)(tmp)[0] + ["--k8s-version", "0.1"], None), 2, "0.1"),
    ("bad-config", lambda tmp: ((tmp / ".pdcheck.yaml").write_text("rules: [1]\n") and None) or ([str(tmp / "d.yaml"), "--config", str(tmp / ".pdcheck.yaml")], None), 2, ".pdcheck.yaml"),
    # Readable content that is wrong: findings, exit 1 (or 0 for warnings only).
    ("list-document", case_file("list.yaml", "- a\n- b\n"), 1, None),
    ("scalar-document", case_file("scalar.yaml", "just a string\n"), 1, None),
    ("wrong-types", case_file("types.yaml", DEPLOYMENT.replace("spec:\n  selector", "spec:\n  replicas: two\n  selector")), 1, None),
    ("missing-fields", case_file("nofields.yaml", "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec: {}\n"), 1, None),
    ("duplicate-keys", case_file("dup.yaml", DEPLOYMENT + "metadata: {name: e}\n"), 1, None),
    ("unknown-kind", case_file("kind.yaml", "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\n"), 0, None),
    ("no-kind", case_file("nokind.yaml", "metadata: {name: w}\n"), 1, None),
]


@pytest.mark.parametrize("builder, expected, needle", [c[1:] for c in CORPUS], ids=[c[0] for c in CORPUS])
def test_malformed_input(tmp_path, builder, expected, needle):
    (tmp_path / "d.yaml").write_text(DEPLOYMENT)
    args, extra_env = builder(tmp_path)
    env = {**os.environ, **(extra_env or {}), "NO_COLOR": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "pdcheck", "validate", "--quiet", *args],
        capture_output=True, text=True, timeout=60, env=env, cwd=tmp_path,
        stdin=subprocess.DEVNULL,
    )
    assert "Traceback" not in proc.stderr + proc.stdout
    assert proc.returncode == expected, proc.stdout + proc.stderr
    if expected == 2:
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1, proc.stderr
        assert lines[0].startswith("pdcheck: error: ") and needle in lines[0], lines[0]
        # An input error leaves the other inputs to be checked: the text summary says it could not be.
        assert proc.stdout == "" or (len(proc.stdout.splitlines()) == 1
                                     and proc.stdout.endswith("; 1 input could not be checked\n")), proc.stdout


def test_stdin_broken_yaml():
    proc = subprocess.run(
        [sys.executable, "-m", "pdcheck", "validate", "--quiet", "-"], input="a: [\n", capture_output=True, text=True, timeout=60,
    )
    assert proc.returncode == 2 and proc.stderr.startswith("pdcheck: error: <stdin>: invalid YAML")


@pytest.fixture(autouse=True)
def _pythonpath(monkeypatch):
    monkeypatch.setenv("PYTHONPATH", str(REPO / "tools") + os.pathsep + os.environ.get("PYTHONPATH", ""))
