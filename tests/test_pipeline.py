"""The pipeline end to end: sources and lines, suppression, configuration, effective render, stdin."""

import json
import subprocess
import sys
from pathlib import Path

import yaml
from typer.testing import CliRunner

from pdcheck.cli import app
from pdcheck.config import Config
from pdcheck.findings import Severity
from reference_material import shared_path
from ruletest import baseline, engine, run_rules, set_flag

REPO = Path(__file__).resolve().parents[1]
runner = CliRunner()


def _broken_tp(docs):
    set_flag(engine(docs, "r1-prefill"), "--tp-size", "8")
    set_flag(engine(docs, "r1-prefill"), "--dp-size", "8")
    return docs


def _json(args, **kwargs):
    result = runner.invoke(app, ["validate", "--format", "json", *args], **kwargs)
    return result.exit_code, json.loads(result.stdout)


def test_finding_points_at_file_and_line_of_a_plain_file(tmp_path):
    path = tmp_path / "deploy.yaml"
    path.write_text(yaml.safe_dump_all(_broken_tp(baseline()), sort_keys=False))
    code, out = _json([str(path)])
    assert code == 1
    (finding,) = [f for f in out["findings"] if f["rule"] == "tp-gpu-mismatch"]
    lines = path.read_text().splitlines()
    # The finding points at the flag; its value is on the next line.
    assert finding["file"] == str(path) and lines[finding["line"] - 1].strip() == "- --tp-size"
    assert lines[finding["line"]].strip() == "- '8'"
    assert finding["object"] == "LeaderWorkerSet/r1-prefill"
    assert finding["path"].startswith("spec.leaderWorkerTemplate.workerTemplate.spec.containers[0].args[")


def test_finding_in_an_overlay_points_into_the_base_file(tmp_path):
    (tmp_path / "base").mkdir()
    (tmp_path / "base" / "all.yaml").write_text(yaml.safe_dump_all(_broken_tp(baseline()), sort_keys=False))
    (tmp_path / "base" / "kustomization.yaml").write_text("resources: [all.yaml]\n")
    (tmp_path / "overlays" / "x").mkdir(parents=True)
    (tmp_path / "overlays" / "x" / "kustomization.yaml").write_text("resources: [../../base]\nnamespace: team-a\n")
    code, out = _json([str(tmp_path / "overlays")])
    assert code == 1
    (finding,) = [f for f in out["findings"] if f["rule"] == "tp-gpu-mismatch"]
    assert Path(finding["file"]).resolve() == (tmp_path / "base" / "all.yaml").resolve()
    assert finding["overlay"].endswith("overlays/x") and finding["object"] == "LeaderWorkerSet/team-a/r1-prefill"
    src = (tmp_path / "base" / "all.yaml").read_text().splitlines()
    assert src[finding["line"] - 1].strip() == "- --tp-size"


def test_suppression_annotation_is_counted():
    docs = _broken_tp(baseline())
    plain = {f.rule for f in run_rules(docs)}
    docs[0]["metadata"]["annotations"] = {"pdcheck.io/ignore": "tp-gpu-mismatch, something-else"}
    # (an id that is no rule suppresses nothing and is reported: ignore-unknown-rule)
    assert {f.rule for f in run_rules(docs)} == (plain - {"tp-gpu-mismatch"}) | {"ignore-unknown-rule"}


def test_config_turns_rules_off_and_changes_severity():
    docs = _broken_tp(baseline())
    off = Config(rule_severity={"tp-gpu-mismatch": None})
    assert "tp-gpu-mismatch" not in {f.rule for f in run_rules(docs, config=off)}
    warn = Config(rule_severity={"tp-gpu-mismatch": Severity.WARNING})
    assert {f.severity for f in run_rules(docs, config=warn) if f.rule == "tp-gpu-mismatch"} == {Severity.WARNING}


def test_pdcheck_yaml_is_found_upward(tmp_path):
    (tmp_path / ".pdcheck.yaml").write_text("rules:\n  tp-gpu-mismatch: off\n")
    (tmp_path / "sub").mkdir()
    path = tmp_path / "sub" / "deploy.yaml"
    path.write_text(yaml.safe_dump_all(_broken_tp(baseline()), sort_keys=False))
    _, out = _json([str(path)])
    assert "tp-gpu-mismatch" not in {f["rule"] for f in out["findings"]}


def test_render_effective_shows_every_rank():
    result = runner.invoke(app, ["render", "--effective", str(REPO / "tests" / "fixtures" / "baseline.yaml")])
    assert result.exit_code == 0, result.output
    docs = list(yaml.safe_load_all(result.stdout))
    ranks = {(d["object"], d["rank"]) for d in docs if d["container"] == "sglang"}
    assert ranks == {("LeaderWorkerSet/r1-prefill", 0), ("LeaderWorkerSet/r1-prefill", 1),
                     ("LeaderWorkerSet/r1-decode", 0), ("LeaderWorkerSet/r1-decode", 1)}
    worker = next(d for d in docs if d["object"] == "LeaderWorkerSet/r1-prefill" and d["rank"] == 1)
    assert worker["env"]["LWS_WORKER_INDEX"] == "1" and worker["gpus"] == 8 and worker["role"] == "prefill"
    assert "r1-prefill-0.r1-prefill.default:20102" in worker["argv"]
    assert worker["argv"][worker["argv"].index("--node-rank") + 1] == "1"


def test_render_strips_origin_annotations():
    result = runner.invoke(app, ["render", str(REPO / "overlays" / "h800-bond")])
    assert result.exit_code == 0 and "config.kubernetes.io/origin" not in result.stdout
    assert any(d["kind"] == "LeaderWorkerSet" for d in yaml.safe_load_all(result.stdout))


def test_stdin_and_discovery_message():
    text = (REPO / "tests" / "fixtures" / "baseline.yaml").read_text()
    proc = subprocess.run([sys.executable, "-m", "pdcheck", "validate", "-"], input=text, capture_output=True,
                          text=True, timeout=60, env={"PYTHONPATH": str(REPO / "tools"), "PATH": "/usr/bin:/bin"})
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.startswith("pdcheck: checking 1 input(s): <stdin>")
    assert proc.stdout.strip().endswith("0 errors, 0 warnings in standard input")


def test_rules_and_explain():
    listing = runner.invoke(app, ["rules"])
    assert listing.exit_code == 0 and "tp-gpu-mismatch" in listing.stdout
    explained = runner.invoke(app, ["explain", "tp-gpu-mismatch"])
    assert explained.exit_code == 0 and "https://" in explained.stdout
    unknown = runner.invoke(app, ["explain", "no-such-rule"])
    assert unknown.exit_code == 2


def test_version():
    proc = subprocess.run([sys.executable, "-m", "pdcheck", "--version"], capture_output=True, text=True, timeout=30,
                          env={"PYTHONPATH": str(REPO / "tools"), "PATH": "/usr/bin:/bin"})
    assert proc.returncode == 0 and proc.stdout.startswith("pdcheck ")


def test_crd_option_validates_against_the_upstream_crd():
    crd = shared_path("reference", "lws-crd-leaderworkersets.yaml")
    fixture = str(REPO / "tests" / "fixtures" / "baseline.yaml")
    code, out = _json(["--crd", str(crd), fixture])
    assert code == 0 and out["findings"] == []
    docs = baseline()
    docs[0]["spec"]["leaderWorkerTemplate"]["restartPolicy"] = "Sometimes"
    result = runner.invoke(app, ["validate", "--format", "json", "--crd", str(crd), "-"], input=yaml.safe_dump_all(docs))
    findings = json.loads(result.stdout)["findings"]
    assert result.exit_code == 1
    assert [f["path"] for f in findings if f["rule"] == "schema-invalid"] == ["spec.leaderWorkerTemplate.restartPolicy"]
