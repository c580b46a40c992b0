"""One bad input hides nothing (#16 item 3) and a kustomization file means its overlay (item 4).

A run over one overlay kustomize cannot build and one overlay with findings reports both, in every
format, and exits 2; the broken overlay is never stored in the results cache as a clean result.
"""

import io
import json
import os
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema
import pytest
import yaml
from typer.testing import CliRunner

from pdcheck.checker import Options, run
from pdcheck.cli import app
from pdcheck.discover import resolve_inputs
from pdcheck.errors import InputError
from ruletest import baseline, engine, set_flag

REPO = Path(__file__).resolve().parents[1]
SARIF_SCHEMA = Path(__file__).resolve().parent / "data" / "sarif" / "sarif-schema-2.1.0.json"
EXTRA = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "extra"}, "data": {"a": "b"}}
FORMATS = ("text", "json", "sarif", "github", "parsable", "junit")
runner = CliRunner()


def broken_tp() -> list[dict]:
    docs = baseline()
    set_flag(engine(docs, "r1-prefill"), "--tp-size", "8")  # tp-gpu-mismatch (error)
    set_flag(engine(docs, "r1-prefill"), "--dp-size", "8")
    return docs


@pytest.fixture
def tree(tmp_path):
    """overlays/broken: kustomize cannot build it (a missing resource); overlays/found: renders,
    with a tp-gpu-mismatch error."""
    (tmp_path / "base").mkdir()
    (tmp_path / "base" / "all.yaml").write_text(yaml.safe_dump_all(broken_tp(), sort_keys=False))
    (tmp_path / "base" / "kustomization.yaml").write_text("resources: [all.yaml]\n")
    for name, resources in (("broken", "[../../base, missing.yaml]"), ("found", "[../../base]")):
        (tmp_path / "overlays" / name).mkdir(parents=True)
        (tmp_path / "overlays" / name / "kustomization.yaml").write_text(f"resources: {resources}\n")
    return tmp_path


def validate(*args):
    result = runner.invoke(app, ["validate", "--no-cache", *map(str, args)])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_broken_overlay_is_reported_and_the_other_still_checked_in_every_format(tree, fmt):
    result = validate("--format", fmt, tree / "overlays")
    assert result.exit_code == 2
    out = result.stdout
    broken = str(tree / "overlays" / "broken")
    # one line on standard error in every format, and in the format's own output but for text
    (line,) = [line for line in result.stderr.splitlines() if line.startswith("pdcheck: error: ")]
    assert line.startswith(f"pdcheck: error: {broken}: kustomize build failed: ") and "missing.yaml" in line
    assert ("missing.yaml" in out) == (fmt != "text")
    assert "tp-gpu-mismatch" in out  # the findings of the overlay that built
    if fmt == "json":
        data = json.loads(out)
        (error,) = data["inputErrors"]
        assert set(error) == {"file", "message"} and error["file"] == broken
        assert error["message"].startswith("kustomize build failed: ") and "missing.yaml" in error["message"]
        assert data["summary"]["inputErrors"] == 1 and data["summary"]["errors"] >= 1
        assert {f["overlay"] for f in data["findings"]} == {str(tree / "overlays" / "found")}
    elif fmt == "sarif":
        log = json.loads(out)
        jsonschema.validate(log, json.loads(SARIF_SCHEMA.read_text()))
        (invocation,) = log["runs"][0]["invocations"]
        assert invocation["executionSuccessful"] is False
        (note,) = invocation["toolExecutionNotifications"]
        assert note["level"] == "error" and "missing.yaml" in note["message"]["text"]
        assert note["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == Path(broken).as_uri()
        assert any(r["ruleId"] == "tp-gpu-mismatch" for r in log["runs"][0]["results"])
    elif fmt == "text":
        assert out.splitlines()[-1].endswith("in 2 overlays; 1 input could not be checked")
    elif fmt == "github":
        assert f"::error file={broken.replace(':', '%3A')},title=pdcheck input error::kustomize build failed: " in out
    elif fmt == "parsable":
        assert f"{broken}:0:0: error [input-error] kustomize build failed: " in out
    elif fmt == "junit":
        root = ET.fromstring(out)
        suite = next(s for s in root.iter("testsuite") if s.get("name") == broken)
        assert suite.get("errors") == "1" and "missing.yaml" in suite.find("testcase/error").get("message")


def test_a_clean_run_reports_success(tree):
    log = json.loads(validate("--format", "sarif", tree / "overlays" / "found").stdout)
    assert log["runs"][0]["invocations"] == [{"executionSuccessful": True, "toolExecutionNotifications": []}]


def test_a_path_that_names_nothing_is_an_input_error_and_the_others_are_checked(tree):
    result = validate("--format", "json", tree / "nope.yaml", tree / "overlays" / "found")
    assert result.exit_code == 2
    data = json.loads(result.stdout)
    assert data["inputErrors"] == [{"file": str(tree / "nope.yaml"), "message": "no such file or directory"}]
    assert any(f["rule"] == "tp-gpu-mismatch" for f in data["findings"])


def test_an_unreadable_kustomization_under_a_tree_is_an_input_error_and_its_siblings_are_checked(tree):
    (tree / "overlays" / "broken" / "kustomization.yaml").write_text("resources: [\n")
    data = json.loads(validate("--format", "json", tree / "overlays").stdout)
    (error,) = data["inputErrors"]
    assert error["file"].endswith("kustomization.yaml") and data["summary"]["inputs"] == [str(tree / "overlays" / "found")]


def test_an_input_error_is_never_cached_as_a_clean_result(tree, tmp_path):
    cache = tmp_path / "cache"
    paths = [str(tree / "overlays")]
    for _ in range(2):  # the second run answers "found" from the results cache, never "broken"
        result = run(Options(paths=paths, cache_dir=str(cache)))
        assert [e.file for e in result.input_errors] == [str(tree / "overlays" / "broken")]
        assert any(f.rule == "tp-gpu-mismatch" for f in result.findings)
    # Fixed, it is checked (not answered as clean or as broken from the cache).
    (tree / "overlays" / "broken" / "missing.yaml").write_text(yaml.safe_dump(EXTRA))
    fixed = run(Options(paths=paths, cache_dir=str(cache)))
    assert fixed.input_errors == [] and [r.name for r in fixed.renders] == [str(tree / "overlays" / "broken")]


# --- item 4: a kustomization file means its overlay ----------------------------------------------

@pytest.mark.parametrize("name", ["kustomization.yaml", "kustomization.yml", "Kustomization"])
def test_a_kustomization_file_is_its_overlay(tree, name):
    overlay = tree / "overlays" / "found"
    (overlay / "kustomization.yaml").rename(overlay / name)
    (item,) = resolve_inputs([str(overlay / name)])
    assert (item.kind, item.path) == ("kustomize", overlay.resolve())
    data = json.loads(validate("--format", "json", overlay / name).stdout)
    assert data["summary"]["inputs"] == [str(overlay)]
    assert any(f["rule"] == "tp-gpu-mismatch" for f in data["findings"])  # rendered: base's findings
    assert not any(f["rule"] == "schema-unknown-kind" for f in data["findings"])  # not read as a manifest


def test_the_bundles_overlay_file_renders_like_its_directory():
    by_dir = validate("--format", "json", REPO / "overlays" / "h800-bond")
    by_file = validate("--format", "json", REPO / "overlays" / "h800-bond" / "kustomization.yaml")
    assert by_file.exit_code == by_dir.exit_code == 0
    assert json.loads(by_file.stdout) == json.loads(by_dir.stdout)


def test_a_component_kustomization_file_gets_the_directorys_message():
    component = REPO / "profiles" / "wiring"
    messages = []
    for path in (component, component / "kustomization.yaml"):
        with pytest.raises(InputError) as err:
            resolve_inputs([str(path)])
        messages.append(str(err.value))
    assert messages[0] == messages[1] and "is a Kustomize Component" in messages[0]


def test_a_missing_kustomize_binary_is_one_input_error_not_one_per_overlay(tree):
    result = validate("--format", "json", "--kustomize", tree / "no-such-kustomize", tree / "overlays")
    assert result.exit_code == 2
    (error,) = json.loads(result.stdout)["inputErrors"]
    assert error["message"] == "kustomize/kubectl binary not found"
