"""The render cache (pdcheck/cache.py): keys follow every input, entries are atomic and self-checking."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pdcheck import cache as cache_mod
from pdcheck.cache import ClosureHasher, RenderCache, Uncacheable, open_cache
from pdcheck.discover import resolve_inputs
from pdcheck.errors import InputError
from pdcheck.kustomize import kustomize_command
from pdcheck.render import Renderer, render_all

REPO = Path(__file__).resolve().parents[1]

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: web
        image: nginx:1.27
"""


def make_tree(root: Path) -> Path:
    """base/ + a Component with a patch file + overlay/ using both; returns the overlay."""
    files = {
        "base/kustomization.yaml": "resources: [deployment.yaml]\nconfigMapGenerator:\n- name: cfg\n  envs: [cfg.env]\n",
        "base/deployment.yaml": DEPLOYMENT,
        "base/cfg.env": "A=1\n",
        "components/replicas/kustomization.yaml": (
            "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\npatches:\n- path: patch.yaml\n"),
        "components/replicas/patch.yaml": "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec: {replicas: 2}\n",
        "overlay/kustomization.yaml": "namePrefix: p-\nresources: [../base]\ncomponents: [../components/replicas]\n",
    }
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root / "overlay"


def tree_snapshot(root: Path) -> dict:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def render(overlay: Path, cache: RenderCache, kustomize: str | None = None):
    (r,) = render_all(resolve_inputs([str(overlay)]), kustomize, None, cache, annotate=True)
    return r


def replicas(r) -> int:
    return next(o.doc["spec"].get("replicas") for o in r.objects if o.kind == "Deployment")


def test_hit_then_miss_when_a_component_patch_changes(tmp_path):
    overlay = make_tree(tmp_path / "tree")
    before = tree_snapshot(tmp_path / "tree")
    cache = RenderCache(tmp_path / "cache")
    first = render(overlay, cache)
    assert cache.stats["miss"] == 1 and replicas(first) == 2
    second = render(overlay, cache)
    assert cache.stats["hit"] == 1
    assert [o.doc for o in second.objects] == [o.doc for o in first.objects]
    assert [o.origin for o in second.objects] == [o.origin for o in first.objects]  # origins survive the cache
    assert second.objects[0].origin.file is not None

    patch = tmp_path / "tree" / "components" / "replicas" / "patch.yaml"
    patch.write_text(patch.read_text().replace("replicas: 2", "replicas: 3"))
    third = render(overlay, cache)
    assert cache.stats == {**cache.stats, "hit": 1, "miss": 2}
    assert replicas(third) == 3
    # ... and a generator input (envs file) is part of the key too.
    (tmp_path / "tree" / "base" / "cfg.env").write_text("A=2\n")
    fourth = render(overlay, cache)
    assert cache.stats["miss"] == 3
    assert next(o.doc["data"] for o in fourth.objects if o.kind == "ConfigMap") == {"A": "2"}
    # Nothing was written into the user's tree.
    after = tree_snapshot(tmp_path / "tree")
    assert set(after) == set(before)


def test_origins_asked_for_later_come_from_the_cache_too(tmp_path):
    overlay = make_tree(tmp_path / "tree")
    cache = RenderCache(tmp_path / "cache")
    inputs = resolve_inputs([str(overlay)])
    for expected_misses in (2, 2):  # bare render + annotated render, then both hit
        with Renderer(inputs, kustomize_command(None), cache=cache) as renderer:
            (r,) = renderer
            assert not r.has_origins and all(o.origin.file is None for o in r.objects)
            origins = renderer.origins(r).result()
        assert all(o.origin.file is None for o in r.objects)  # the render itself is left as it was
        deployment = next(o for o in r.objects if o.kind == "Deployment")
        assert origins[deployment.index].file.endswith(os.path.join("base", "deployment.yaml"))
        assert cache.stats["miss"] == expected_misses


def fake_kustomize(path: Path, version: str) -> str:
    kubectl = kustomize_command(None)[0]
    path.write_text(
        "#!/bin/sh\n"
        f'if [ "$1" = version ]; then echo "{version}"; exit 0; fi\n'
        f'shift\nexec "{kubectl}" kustomize "$@"\n'
    )
    path.chmod(0o755)
    return str(path)


def test_kustomize_version_change_is_a_miss(tmp_path):
    overlay = make_tree(tmp_path / "tree")
    cache = RenderCache(tmp_path / "cache")
    tool = fake_kustomize(tmp_path / "kz", "v5.0.0-fake")
    render(overlay, cache, tool)
    render(overlay, RenderCache(tmp_path / "cache"), tool)  # a new process: version from the tools cache
    assert cache.stats["miss"] == 1
    fake_kustomize(tmp_path / "kz", "v5.1.0-fake-upgraded")
    os.utime(tool, ns=(time.time_ns() + 10**9,) * 2)  # a new binary: new mtime (and size)
    fresh = RenderCache(tmp_path / "cache")
    render(overlay, fresh, tool)
    assert fresh.stats == {**fresh.stats, "hit": 0, "miss": 1}
    assert sorted(p.read_text() for p in fresh.tools.iterdir()) == ["v5.0.0-fake", "v5.1.0-fake-upgraded"]


def test_corrupt_entry_is_a_miss_and_is_repaired(tmp_path):
    overlay = make_tree(tmp_path / "tree")
    cache = RenderCache(tmp_path / "cache")
    good = render(overlay, cache)
    (entry,) = list(cache.renders.iterdir())
    blob = entry.read_bytes()
    for damage in (blob[: len(blob) // 2], blob[:-5] + b"XXXXX", b"", b"\x00garbage"):
        entry.write_bytes(damage)
        again = render(overlay, cache)
        assert [o.doc for o in again.objects] == [o.doc for o in good.objects]
        repaired = cache_mod._decode_entry(entry.read_bytes())  # rewritten whole (the wrapper dir differs)
        assert repaired is not None and repaired[0] == cache_mod._decode_entry(blob)[0]
    assert cache.stats["hit"] == 0
    render(overlay, cache)
    assert cache.stats["hit"] == 1
    entry.chmod(0)
    if not os.access(entry, os.R_OK):  # (root reads anything)
        assert render(overlay, cache).objects


def test_uncacheable_kustomizations(tmp_path):
    hasher = ClosureHasher()
    for body in ("resources:\n- https://github.com/kubernetes-sigs/lws//config/default?ref=v0.6.0\n",
                 "resources:\n- github.com/org/repo/base?ref=main\n",
                 "helmCharts:\n- name: x\n"):
        d = tmp_path / str(abs(hash(body)))
        d.mkdir()
        (d / "kustomization.yaml").write_text(body)
        with pytest.raises(Uncacheable):
            hasher.closure_files(d)


def test_closure_covers_named_files_and_refuses_files_outside_the_root(tmp_path):
    overlay = make_tree(tmp_path / "tree")
    files = ClosureHasher().closure_files(overlay)
    assert str((tmp_path / "tree" / "base" / "cfg.env").resolve()) in files
    assert str((tmp_path / "tree" / "components" / "replicas" / "patch.yaml").resolve()) in files
    # kustomize's load restrictor refuses a file outside the kustomization's directory: such a
    # closure is not cached (the build fails; a build with the restrictor off could read anything).
    outside = tmp_path / "tree" / "shared" / "extra.yaml"
    outside.parent.mkdir()
    outside.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: extra}\n")
    k = overlay / "kustomization.yaml"
    k.write_text(k.read_text() + "patches:\n- path: ../shared/extra.yaml\n")
    with pytest.raises(Uncacheable, match="outside the kustomization's directory"):
        ClosureHasher().closure_files(overlay)
    with pytest.raises(InputError, match="security|restrict|outside|not in or below"):
        render(overlay, None)


def test_location_and_switches(tmp_path, monkeypatch):
    monkeypatch.delenv("PDCHECK_CACHE_DIR", raising=False)
    monkeypatch.delenv("PDCHECK_NO_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert open_cache().root == tmp_path / "xdg" / "pdcheck"
    monkeypatch.setenv("PDCHECK_CACHE_DIR", str(tmp_path / "env"))
    assert open_cache().root == tmp_path / "env"
    assert open_cache(tmp_path / "opt").root == tmp_path / "opt"
    assert open_cache(tmp_path / "opt", no_cache=True) is None
    monkeypatch.setenv("PDCHECK_NO_CACHE", "1")
    assert open_cache(tmp_path / "opt") is None


def test_prune_bounds_age_and_size(tmp_path):
    cache = RenderCache(tmp_path, max_age_days=1, max_bytes=250)
    now = time.time()
    for i in range(5):
        cache.put(f"k{i}", b"x" * 100, "")
        os.utime(cache.renders / f"k{i}", (now - 100 + i, now - 100 + i))
    os.utime(cache.renders / "k0", (now - 3 * 86400,) * 2)  # unused for 3 days
    (cache.renders / ".tmp-crashed").write_bytes(b"partial")
    os.utime(cache.renders / ".tmp-crashed", (now - 7200,) * 2)
    cache.prune(now)
    # k0 too old; of the rest (~150 bytes each with header) only the newest fits in 250 bytes.
    assert sorted(os.listdir(cache.renders)) == ["k4"]


@pytest.mark.slow
def test_concurrent_runs_share_the_cache(tmp_path):
    cache_dir, tmp = tmp_path / "cache", tmp_path / "tmp"
    tmp.mkdir()
    env = {**os.environ, "PYTHONPATH": str(REPO / "tools"), "PDCHECK_CACHE_DIR": str(cache_dir), "TMPDIR": str(tmp),
           "NO_COLOR": "1"}
    env.pop("PDCHECK_NO_CACHE", None)
    argv = [sys.executable, "-m", "pdcheck", "validate", "--format", "json", "overlays/"]
    expected = subprocess.run([*argv, "--no-cache"], capture_output=True, text=True, cwd=REPO, env=env, timeout=120)
    assert expected.returncode in (0, 1), expected.stderr
    assert not cache_dir.exists()  # --no-cache neither reads nor writes
    procs = [subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO, env=env)
             for _ in range(8)]
    outputs = [p.communicate(timeout=300) for p in procs]
    for (out, err), p in zip(outputs, procs):
        assert p.returncode == expected.returncode, err
        assert json.loads(out) == json.loads(expected.stdout)
    warm = subprocess.run(argv, capture_output=True, text=True, cwd=REPO, env=env, timeout=120)
    assert json.loads(warm.stdout) == json.loads(expected.stdout)
    debris = [p for p in cache_dir.rglob("*") if p.name.startswith(".tmp-")] + list(tmp.iterdir())
    assert debris == []
    entries = list((cache_dir / f"renders-v{cache_mod.CACHE_FORMAT}").iterdir())
    assert entries and all(cache_mod._decode_entry(e.read_bytes()) is not None for e in entries)
    results = list((cache_dir / f"results-v{cache_mod.CACHE_FORMAT}").iterdir())  # one per overlay
    assert len(results) == len(list((REPO / "overlays").glob("*/kustomization.yaml")))
    assert all(cache_mod._decode_entry(e.read_bytes()) is not None for e in results)
