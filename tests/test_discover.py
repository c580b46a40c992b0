from pathlib import Path

import pytest

from pdcheck.discover import discover_overlays, resolve_inputs
from pdcheck.errors import InputError


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


TREE = {
    "base/kustomization.yaml": "resources: [dep.yaml]\n",
    "base/dep.yaml": "kind: ConfigMap\n",
    "profiles/fabric/kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\n",
    "overlays/common/kustomization.yaml": "resources: [../../base]\n",
    "overlays/a/kustomization.yaml": "resources: [../common]\ncomponents: [../../profiles/fabric]\n",
    "overlays/b/kustomization.yml": "resources: [../../base]\n",
    "overlays/.hidden/kustomization.yaml": "resources: [../../base]\n",
    "venv/pyvenv.cfg": "",
    "venv/pkg/kustomization.yaml": "resources: []\n",
}


def test_discovery_rule(tmp_path):
    write(tmp_path, TREE)
    names = lambda paths: [p.relative_to(tmp_path).as_posix() for p in paths]  # noqa: E731
    # overlays/common is referenced by overlays/a, so it is not a root; Components never are.
    assert names(discover_overlays(tmp_path / "overlays")) == ["overlays/a", "overlays/b"]
    assert names(discover_overlays(tmp_path)) == ["overlays/a", "overlays/b"]


def test_resolve_inputs_kinds(tmp_path):
    write(tmp_path, TREE)
    inputs = resolve_inputs([str(tmp_path / "overlays/b"), str(tmp_path / "base/dep.yaml"), "-"])
    assert [i.kind for i in inputs] == ["kustomize", "file", "stdin"]


@pytest.mark.parametrize("target, message", [
    ("missing", "no such file"),
    ("profiles/fabric", "Component"),
    ("empty", "holds no kustomization"),
])
def test_resolve_inputs_errors(tmp_path, target, message):
    write(tmp_path, TREE)
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match=message):
        resolve_inputs([str(tmp_path / target)])
