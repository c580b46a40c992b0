"""The results cache (pdcheck/checkcache.py): a re-run reports exactly what a fresh run would, and
anything findings depend on makes it check again."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from pdcheck.cache import CACHE_FORMAT
from pdcheck.checker import Options, run
from pdcheck.cli import app
from ruletest import baseline, engine, set_flag

REPO = Path(__file__).resolve().parents[1]
RESULTS = f"results-v{CACHE_FORMAT}"  # the results store inside a cache directory

CRD = """\
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.example.com}
spec:
  group: example.com
  names: {kind: Widget, plural: widgets}
  scope: Namespaced
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            properties:
              size: {type: %s}
"""
WIDGET = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}, "spec": {"size": 3}}


def broken_docs() -> list[dict]:
    """A finding with a file and line (prefill) and a suppressed one (decode)."""
    docs = baseline()
    for name in ("r1-prefill", "r1-decode"):
        set_flag(engine(docs, name), "--tp-size", "8")
        set_flag(engine(docs, name), "--dp-size", "8")
    decode = next(d for d in docs if d["metadata"]["name"] == "r1-decode")
    decode["metadata"]["annotations"] = {"pdcheck.io/ignore": "tp-gpu-mismatch"}
    return docs


@pytest.fixture
def tree(tmp_path):
    root = tmp_path / "tree"
    (root / "base").mkdir(parents=True)
    (root / "base" / "all.yaml").write_text(yaml.safe_dump_all(broken_docs(), sort_keys=False))
    (root / "base" / "kustomization.yaml").write_text("resources: [all.yaml]\n")
    (root / "overlays" / "x").mkdir(parents=True)
    (root / "overlays" / "x" / "kustomization.yaml").write_text("resources: [../../base]\nnamespace: team-a\n")
    (root / "plain.yaml").write_text(yaml.safe_dump_all(broken_docs() + [WIDGET], sort_keys=False))
    (root / "crd.yaml").write_text(CRD % "string")
    return root


def check(tree: Path, cache: Path | None, **options):
    paths = options.pop("paths", [str(tree / "overlays"), str(tree / "plain.yaml")])
    crds = options.pop("crds", [str(tree / "crd.yaml")])
    return run(Options(paths=paths, crds=crds, cache_dir=str(cache) if cache else None, no_cache=cache is None, **options))


def report(result) -> tuple:
    return [f.to_dict() for f in result.findings], result.suppressed, result.inputs


def test_a_rerun_is_answered_from_the_results_cache(tree, tmp_path):
    cache = tmp_path / "cache"
    first = check(tree, cache)
    assert len(first.renders) == 2  # an overlay and a file, both checked
    findings, suppressed, _ = report(first)
    assert suppressed == 2 and {f["rule"] for f in findings} >= {"tp-gpu-mismatch", "schema-invalid"}
    assert all(f["file"] and f["line"] for f in findings if f["rule"] == "tp-gpu-mismatch")
    again = check(tree, cache)
    assert again.renders == []  # nothing rendered, modelled or checked
    assert report(again) == report(first) == report(check(tree, None))
    assert {r.id for r in again.rules} == {r.id for r in first.rules}  # SARIF lists them
    assert len(os.listdir(cache / RESULTS)) == 2


def test_the_configuration_is_read_once_per_run(tree, tmp_path, monkeypatch):
    import pdcheck.config

    (tree / ".pdcheck.yaml").write_text("rules:\n  tp-gpu-mismatch: warning\n")
    reads, read_text = [], pdcheck.config.read_text
    monkeypatch.setattr(pdcheck.config, "read_text", lambda path: reads.append(path) or read_text(path))
    for checked in (True, False):  # checked, then answered from the results cache
        reads.clear()
        result = check(tree, tmp_path / "cache")
        assert bool(result.renders) == checked and reads == [tree / ".pdcheck.yaml"]
        assert {f.severity.value for f in result.findings if f.rule == "tp-gpu-mismatch"} == {"warning"}


def _edit_base(tree, _):
    text = (tree / "base" / "all.yaml").read_text()
    (tree / "base" / "all.yaml").write_text(text.replace("- '8'", "- '4'", 1))


def _edit_plain(tree, _):
    (tree / "plain.yaml").write_text(yaml.safe_dump_all(baseline(), sort_keys=False))


def _add_config(tree, _):
    (tree / ".pdcheck.yaml").write_text("rules:\n  tp-gpu-mismatch: warning\n")


def _edit_crd(tree, _):
    (tree / "crd.yaml").write_text(CRD % "integer")


def _chdir(tree, monkeypatch):
    # Finding files are shown relative to the working directory: from here the inputs stay absolute
    # (two levels up), but base/all.yaml becomes ../all.yaml.
    (tree / "base" / "sub").mkdir()
    monkeypatch.chdir(tree / "base" / "sub")


CHANGES = {
    "a base file the overlay renders": _edit_base,
    "a plain YAML input": _edit_plain,
    "a .pdcheck.yaml appears": _add_config,
    "a CRD file": _edit_crd,
    "the working directory": _chdir,
    "--sglang-version": lambda tree, _: {"sglang_version": "0.4.10.post2"},
    "--router-version": lambda tree, _: {"router_version": "0.1.8"},
    "--k8s-version": lambda tree, _: {"k8s_versions": ["1.30"]},
}


@pytest.mark.slow  # one case per input of the key: CI runs the whole matrix (--slow)
@pytest.mark.parametrize("change", CHANGES, ids=list(CHANGES))
def test_a_change_findings_depend_on_is_a_miss(change, tree, tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    check(tree, cache)
    assert check(tree, cache).renders == []
    options = CHANGES[change](tree, monkeypatch) or {}
    after = check(tree, cache, **options)
    assert after.renders, "served from the cache after a change the findings depend on"
    assert report(after) == report(check(tree, None, **options))


def test_what_does_not_change_findings_still_hits(tree, tmp_path):
    cache = tmp_path / "cache"
    first = check(tree, cache)
    assert check(tree, cache, jobs=1).renders == []
    # The same files through a symlink: inputs are named by their real path, so nothing changes.
    (tmp_path / "link").symlink_to(tree)
    linked = check(tree, cache, paths=[str(tmp_path / "link" / "overlays"), str(tmp_path / "link" / "plain.yaml")])
    assert linked.renders == [] and report(linked) == report(first)


def test_corrupt_results_are_a_miss_and_are_rewritten(tree, tmp_path):
    cache = tmp_path / "cache"
    first = check(tree, cache)
    entries = sorted((cache / RESULTS).iterdir())
    entries[0].write_bytes(entries[0].read_bytes()[:-5])  # truncated: the payload checksum fails
    entries[1].write_bytes(b"pdcheck-render-cache 1\n{}\nnot json")
    after = check(tree, cache)
    assert len(after.renders) == 2 and report(after) == report(first)
    assert check(tree, cache).renders == []  # repaired


def test_stdin_is_never_cached(tmp_path):
    cache = tmp_path / "cache"
    text = yaml.safe_dump_all(broken_docs(), sort_keys=False)
    for _ in range(2):
        result = CliRunner().invoke(app, ["validate", "-q", "--cache-dir", str(cache), "-"], input=text)
        assert result.exit_code == 1
    assert not (cache / RESULTS).exists() or not os.listdir(cache / RESULTS)


def test_no_cache_writes_nothing(tree, tmp_path):
    check(tree, None)
    result = CliRunner().invoke(app, ["validate", "-q", "--no-cache", "--cache-dir", str(tmp_path / "c"), str(tree / "plain.yaml")])
    assert result.exit_code == 1 and not (tmp_path / "c").exists()


@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["text", "json", "sarif", "github", "parsable", "junit"])
def test_every_format_prints_the_same_from_the_cache(fmt, tree, tmp_path):
    args = ["validate", "-q", "--format", fmt, "--cache-dir", str(tmp_path / "cache"), "--crd", str(tree / "crd.yaml"),
            str(tree / "overlays"), str(tree / "plain.yaml")]
    fresh, cached = CliRunner().invoke(app, args), CliRunner().invoke(app, args)
    assert fresh.exit_code == cached.exit_code == 1
    assert cached.stdout == fresh.stdout
    if fmt == "sarif":
        assert json.loads(cached.stdout)["runs"][0]["tool"]["driver"]["rules"]


@pytest.mark.slow
def test_editing_pdcheck_itself_is_a_miss(tree, tmp_path):
    """A changed rule, catalog or schema file of pdcheck is a miss even when its version string is unchanged."""
    package = tmp_path / "src" / "pdcheck"
    shutil.copytree(REPO / "tools" / "pdcheck", package, ignore=shutil.ignore_patterns("__pycache__"))
    cache = tmp_path / "cache"
    env = {**os.environ, "PYTHONPATH": str(package.parent), "PDCHECK_CACHE_DIR": str(cache)}

    def validate() -> dict:
        proc = subprocess.run([sys.executable, "-m", "pdcheck", "validate", "-q", "--format", "json", str(tree / "plain.yaml")],
                              capture_output=True, text=True, timeout=120, env=env)
        assert proc.returncode == 1, proc.stderr
        return json.loads(proc.stdout)

    validate()
    validate()
    assert len(os.listdir(cache / RESULTS)) == 1
    rule = package / "rules" / "parallelism" / "tp_gpu_mismatch.py"
    rule.write_text(rule.read_text().replace('f"make --tp-size', 'f"EDITED make --tp-size', 1))
    fixes = [f["fix"] for f in validate()["findings"] if f["rule"] == "tp-gpu-mismatch"]
    assert fixes and all(fix.startswith("EDITED") for fix in fixes)
    assert len(os.listdir(cache / RESULTS)) == 2
