"""Reporters (docs/output.md): SARIF against the official 2.1.0 schema, GitHub workflow commands,
the stable JSON shape, the text summary and colours, exit codes and --strict."""

import json
import os
import pty
import re
import select
import subprocess
import sys
import time
from pathlib import Path

import jsonschema
import pytest
import yaml
from typer.testing import CliRunner

from pdcheck.checker import RunResult
from pdcheck.cli import app
from pdcheck.findings import Finding, Severity
from pdcheck.report import REPORTERS
from ruletest import baseline, engine, set_flag

REPO = Path(__file__).resolve().parents[1]
SARIF_SCHEMA = Path(__file__).resolve().parent / "data" / "sarif" / "sarif-schema-2.1.0.json"
ANSI = re.compile(r"\x1b\[[0-9;]*m")
SUMMARY = re.compile(r"^(\d+) errors?, (\d+) warnings? in (\d+) (?:overlays?|files?)\b")
WIDGET = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}}  # schema-unknown-kind

runner = CliRunner()


def write_docs(path: Path, docs: list[dict]) -> Path:
    path.write_text(yaml.safe_dump_all(docs, sort_keys=False))
    return path


def broken_tp() -> list[dict]:
    docs = baseline()
    set_flag(engine(docs, "r1-prefill"), "--tp-size", "8")  # tp-gpu-mismatch (error)
    set_flag(engine(docs, "r1-prefill"), "--dp-size", "8")  # keeps dp dividing tp: one finding only
    return docs


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    """clean: no finding; warning: one warning; findings: an error and a warning; info.yaml: a config
    turning the warning into an info."""
    root = tmp_path_factory.mktemp("reporters")
    return {
        "clean": write_docs(root / "clean.yaml", baseline()),
        "warning": write_docs(root / "warning.yaml", baseline() + [WIDGET]),
        "findings": write_docs(root / "findings.yaml", broken_tp() + [WIDGET]),
        "info-config": _write(root / "info.pdcheck.yaml", "rules:\n  schema-unknown-kind: info\n"),
        "root": root,
    }


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def validate(*args, env=None):
    result = runner.invoke(app, ["validate", *map(str, args)], env=env)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result


# --- SARIF --------------------------------------------------------------------------------------

# jsonschema checks "uri"/"uri-reference" only with optional packages installed: check them here
# (RFC 3986 characters; a scheme for an absolute "uri").
FORMATS = jsonschema.FormatChecker()
_URI_CHARS = re.compile(r"^[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]*$")


@FORMATS.checks("uri-reference")
def _uri_reference(value):
    return not isinstance(value, str) or bool(_URI_CHARS.match(value))


@FORMATS.checks("uri")
def _uri(value):
    return not isinstance(value, str) or (bool(_URI_CHARS.match(value)) and bool(re.match(r"^[A-Za-z][A-Za-z0-9+.-]*:", value)))


@pytest.fixture(scope="module")
def sarif_validator():
    schema = json.loads(SARIF_SCHEMA.read_text())
    cls = jsonschema.validators.validator_for(schema)
    assert cls is jsonschema.Draft4Validator  # the official schema is draft-04
    cls.check_schema(schema)
    return cls(schema, format_checker=FORMATS)


def assert_valid_sarif(validator, log):
    errors = sorted(validator.iter_errors(log), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors[:10])


def test_sarif_with_findings_validates_against_the_official_schema(inputs, sarif_validator):
    result = validate("--format", "sarif", inputs["findings"])
    assert result.exit_code == 1
    log = json.loads(result.stdout)
    assert_valid_sarif(sarif_validator, log)
    [run] = log["runs"]
    rules = run["tool"]["driver"]["rules"]
    by_rule = {r["ruleId"]: r for r in run["results"]}
    assert by_rule["tp-gpu-mismatch"]["level"] == "error" and by_rule["schema-unknown-kind"]["level"] == "warning"
    tp = by_rule["tp-gpu-mismatch"]
    assert rules[tp["ruleIndex"]]["id"] == "tp-gpu-mismatch"
    location = tp["locations"][0]["physicalLocation"]
    lines = inputs["findings"].read_text().splitlines()
    assert location["artifactLocation"]["uri"].endswith("findings.yaml")
    assert lines[location["region"]["startLine"] - 1].strip() == "- --tp-size"
    # every enabled rule is described, in id order
    assert [r["id"] for r in rules] == sorted(r["id"] for r in rules) and len(rules) > 10


def test_sarif_clean_run_and_info_level_validate(inputs, sarif_validator):
    clean = validate("--format", "sarif", inputs["clean"])
    assert clean.exit_code == 0
    log = json.loads(clean.stdout)
    assert_valid_sarif(sarif_validator, log)
    assert log["runs"][0]["results"] == []
    info = validate("--format", "sarif", "--config", inputs["info-config"], inputs["warning"])
    assert info.exit_code == 0
    log = json.loads(info.stdout)
    assert_valid_sarif(sarif_validator, log)
    assert [r["level"] for r in log["runs"][0]["results"]] == ["note"]


def test_sarif_uri_of_awkward_file_names_is_a_valid_uri_reference(tmp_path, sarif_validator):
    odd = tmp_path / "my dir%" / "déploy #1.yaml"
    odd.parent.mkdir()
    write_docs(odd, broken_tp())
    log = json.loads(validate("--format", "sarif", odd).stdout)
    assert_valid_sarif(sarif_validator, log)
    uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in log["runs"][0]["results"]}
    assert uris == {odd.as_uri()}  # absolute path -> file: URI, percent-encoded


def test_sarif_relative_path_stays_relative(inputs, sarif_validator, monkeypatch):
    monkeypatch.chdir(inputs["root"])
    log = json.loads(validate("--format", "sarif", "findings.yaml").stdout)
    assert_valid_sarif(sarif_validator, log)
    uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in log["runs"][0]["results"]}
    assert uris == {"findings.yaml"}


def test_sarif_schema_validator_is_strict(inputs, sarif_validator):
    """The schema copy really rejects malformed logs (so the passing tests mean something)."""
    log = json.loads(validate("--format", "sarif", inputs["findings"]).stdout)
    bad = json.loads(json.dumps(log))
    bad["runs"][0]["results"][0]["level"] = "fatal"
    assert list(sarif_validator.iter_errors(bad))
    bad = json.loads(json.dumps(log))
    bad["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"]["startLine"] = 0
    assert list(sarif_validator.iter_errors(bad))
    bad = json.loads(json.dumps(log))
    bad["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] = "a b.yaml"
    assert list(sarif_validator.iter_errors(bad))


# --- GitHub workflow commands -------------------------------------------------------------------

COMMAND = re.compile(r"^::(error|warning|notice) ([^:]*)::(.*)$")


def unescape(text: str) -> str:
    return text.replace("%0D", "\r").replace("%0A", "\n").replace("%3A", ":").replace("%2C", ",").replace("%25", "%")


def parse_command(line: str):
    """Parse one workflow command as the Actions runner does: properties split on ',' then '='."""
    match = COMMAND.match(line)
    assert match, line
    props = dict(p.split("=", 1) for p in match.group(2).split(","))
    for value in props.values():
        assert not re.search(r"[,:\n\r]", value), value
    assert "\n" not in match.group(3) and "\r" not in match.group(3)
    return match.group(1), {k: unescape(v) for k, v in props.items()}, unescape(match.group(3))


def fake_result(findings: list[Finding]) -> RunResult:
    return RunResult("0.0.0", ["x"], findings, 0, [object()], [], kinds=["kustomize"])


def test_github_escapes_newlines_commas_colons_and_percent():
    finding = Finding(
        "tp-gpu-mismatch", Severity.ERROR, "tp 8, but 16 GPUs: 50% used\r\nsecond line",
        fix="set --tp-size 16, or: fewer GPUs", object="LeaderWorkerSet/ns/a,b",
        path=("spec", "x"), file="dir,1/a:b%.yaml", line=7, overlay="overlays/x",
    )
    out = _capture("github", fake_result([finding]))
    first, summary = out.splitlines()
    assert first.startswith("::error file=dir%2C1/a%3Ab%25.yaml,line=7,title=tp-gpu-mismatch LeaderWorkerSet/ns/a%2Cb::")
    assert "%0D%0A" in first and "%0Afix%3A" not in first  # the message escapes % CR LF only
    command, props, message = parse_command(first)
    assert command == "error"
    assert props == {"file": "dir,1/a:b%.yaml", "line": "7", "title": "tp-gpu-mismatch LeaderWorkerSet/ns/a,b"}
    assert message == "tp 8, but 16 GPUs: 50% used\r\nsecond line (spec.x)\nfix: set --tp-size 16, or: fewer GPUs"
    assert summary == "pdcheck: 1 error, 0 warnings in 1 overlay"


def test_github_severities_and_findings_without_file():
    findings = [
        Finding("r-warn", Severity.WARNING, "w", object="Service/s"),
        Finding("r-info", Severity.INFO, "i", file="a.yaml"),  # no line: no line property
    ]
    lines = _capture("github", fake_result(findings)).splitlines()
    assert parse_command(lines[0])[:2] == ("warning", {"title": "r-warn Service/s"})
    assert parse_command(lines[1])[:2] == ("notice", {"file": "a.yaml", "title": "r-info"})


def test_github_output_of_a_real_run(inputs):
    result = validate("--format", "github", inputs["findings"])
    assert result.exit_code == 1
    *commands, summary = result.stdout.splitlines()
    parsed = [parse_command(line) for line in commands]
    titles = {(c, p["title"].split()[0]) for c, p, _ in parsed}
    assert {("error", "tp-gpu-mismatch"), ("warning", "schema-unknown-kind")} <= titles
    tp = next(p for c, p, _ in parsed if p["title"].startswith("tp-gpu-mismatch "))
    assert tp["file"] == str(inputs["findings"]) and int(tp["line"]) > 0
    errors = sum(1 for c, _, _ in parsed if c == "error")
    assert summary == f"pdcheck: {errors} error{'s' if errors != 1 else ''}, 1 warning in 1 file"


def _capture(fmt: str, result: RunResult, color: bool = False) -> str:
    import io

    stream = io.StringIO()
    REPORTERS[fmt](result, stream, color)
    return stream.getvalue()


# --- JSON ---------------------------------------------------------------------------------------

FINDING_TYPES = {"rule": str, "severity": str, "message": str, "fix": str, "object": str, "path": str,
                 "file": (str, type(None)), "line": (int, type(None)), "overlay": (str, type(None)),
                 "provenance": list}
SUMMARY_TYPES = {"errors": int, "warnings": int, "infos": int, "suppressed": int, "overlays": int, "inputs": list,
                 "inputErrors": int}


def test_json_has_exactly_the_documented_keys_and_types(inputs):
    result = validate("--format", "json", inputs["findings"], inputs["clean"])
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert set(data) == {"version", "findings", "inputErrors", "summary"} and isinstance(data["version"], str)
    assert data["inputErrors"] == []
    assert data["findings"]
    for finding in data["findings"]:
        assert set(finding) == set(FINDING_TYPES)
        for key, kind in FINDING_TYPES.items():
            assert isinstance(finding[key], kind) and not isinstance(finding[key], bool), (key, finding[key])
        assert finding["severity"] in ("error", "warning", "info")
    assert set(data["summary"]) == set(SUMMARY_TYPES)
    for key, kind in SUMMARY_TYPES.items():
        assert isinstance(data["summary"][key], kind) and not isinstance(data["summary"][key], bool)
    severities = [f["severity"] for f in data["findings"]]
    assert data["summary"] == {"errors": severities.count("error"), "warnings": severities.count("warning"),
                               "infos": 0, "suppressed": 0, "overlays": 2,
                               "inputs": [str(inputs["findings"]), str(inputs["clean"])], "inputErrors": 0}
    assert {(f["rule"], f["severity"]) for f in data["findings"]} >= {("tp-gpu-mismatch", "error"),
                                                                      ("schema-unknown-kind", "warning")}
    assert all(isinstance(i, str) for i in data["summary"]["inputs"])


def test_json_keys_are_documented():
    doc = (REPO / "docs" / "output.md").read_text()
    for key in [*FINDING_TYPES, *SUMMARY_TYPES]:
        assert f"`{key}`" in doc, key


def test_json_and_sarif_print_nothing_else_on_stdout(inputs):
    for fmt in ("json", "sarif"):
        result = validate("--format", fmt, inputs["findings"])
        json.loads(result.stdout)  # one document, nothing around it


# --- text ---------------------------------------------------------------------------------------

def test_text_summary_line_and_no_colour_when_not_a_tty(inputs):
    result = validate(inputs["findings"], inputs["clean"])
    assert result.exit_code == 1
    last = result.stdout.splitlines()[-1]
    assert SUMMARY.match(last).groups() == ("1", "1", "2")
    assert last == "1 error, 1 warning in 2 files"  # YAML files are not called overlays
    assert not ANSI.search(result.stdout)
    clean = validate(inputs["clean"])
    assert clean.stdout.splitlines()[-1] == "0 errors, 0 warnings in 1 file"


def test_text_colour_options(inputs):
    plain = validate("--no-color", inputs["findings"])
    assert not ANSI.search(plain.stdout)
    coloured = validate("--color", inputs["findings"])
    assert ANSI.search(coloured.stdout)
    assert ANSI.sub("", coloured.stdout) == plain.stdout
    assert "\x1b[31merror\x1b[0m" in coloured.stdout and "\x1b[33mwarning\x1b[0m" in coloured.stdout
    # the summary line itself stays plain, for scripts that read the last line
    assert SUMMARY.match(coloured.stdout.splitlines()[-1])


def run_in_pty(args: list[str], env: dict, timeout: float = 60) -> str:
    """Run `python -m pdcheck` with stdout on a pseudo-terminal; return what it printed there."""
    try:
        master, slave = pty.openpty()
    except OSError as exc:
        pytest.skip(f"no pseudo-terminal available: {exc}")
    proc = subprocess.Popen([sys.executable, "-m", "pdcheck", *args], stdout=slave, stderr=subprocess.DEVNULL,
                            stdin=subprocess.DEVNULL, env=env)
    os.close(slave)
    chunks, deadline = [], time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.5)
            if ready:
                try:
                    data = os.read(master, 65536)
                except OSError:  # EIO: the child closed the terminal
                    break
                if not data:
                    break
                chunks.append(data)
            elif proc.poll() is not None:
                break
        proc.wait(timeout=max(1, deadline - time.monotonic()))
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)
    return b"".join(chunks).decode()


def test_text_is_coloured_on_a_terminal_unless_no_color(inputs):
    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    env["PYTHONPATH"] = str(REPO / "tools")
    on_tty = run_in_pty(["validate", str(inputs["findings"])], env)
    assert ANSI.search(on_tty) and "tp-gpu-mismatch" in on_tty
    assert not ANSI.search(run_in_pty(["validate", "--no-color", str(inputs["findings"])], env))
    assert not ANSI.search(run_in_pty(["validate", str(inputs["findings"])], {**env, "NO_COLOR": "1"}))


# --- exit codes ---------------------------------------------------------------------------------

@pytest.mark.parametrize("name, strict, code", [
    ("clean", False, 0), ("clean", True, 0),
    ("warning", False, 0), ("warning", True, 1),
    ("findings", False, 1), ("findings", True, 1),
])
@pytest.mark.parametrize("fmt", ["text", "json", "sarif", "github", "parsable", "junit"])
def test_exit_codes_and_strict(inputs, name, strict, code, fmt):
    args = ["--format", fmt] + (["--strict"] if strict else []) + [inputs[name]]
    assert validate(*args).exit_code == code


@pytest.mark.parametrize("args", [
    ["/no/such/path.yaml"],
    ["--k8s-version", "1.99", "CLEAN"],
    ["--crd", "/no/such/crd.yaml", "CLEAN"],
    ["--format", "xml", "CLEAN"],
    ["--config", "BADCONFIG", "CLEAN"],
])
def test_exit_code_2_on_bad_input(inputs, args):
    bad_config = _write(inputs["root"] / "bad.pdcheck.yaml", "rules:\n  tp-gpu-mismatch: sometimes\n")
    args = [str(inputs["clean"]) if a == "CLEAN" else str(bad_config) if a == "BADCONFIG" else a for a in args]
    result = validate(*args)
    assert result.exit_code == 2, result.output
    # (an input that cannot be read is reported in the output format itself: test_input_errors.py)
    assert result.stdout == "" or "Usage" in result.output or "1 input could not be checked" in result.stdout


def test_exit_codes_through_the_console_entry_point(inputs):
    """python -m pdcheck (the same main() as the console script) exits 0/1/2 too."""
    env = {**os.environ, "PYTHONPATH": str(REPO / "tools")}
    for path, code in ((inputs["clean"], 0), (inputs["findings"], 1), ("/no/such/file.yaml", 2)):
        proc = subprocess.run([sys.executable, "-m", "pdcheck", "validate", "-q", str(path)], capture_output=True,
                              text=True, timeout=120, env=env)
        assert proc.returncode == code, proc.stderr


# --- parsable -----------------------------------------------------------------------------------

PARSABLE = re.compile(r"^(?P<file>[^\n]+?):(?P<line>\d+):(?P<col>\d+): (?P<severity>error|warning|info) "
                      r"\[(?P<rule>[a-z0-9-]+)\] (?P<message>.+)$")


def test_parsable_is_one_line_per_finding_in_yamllints_shape(inputs):
    result = validate("--format", "parsable", inputs["findings"])
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    matches = [PARSABLE.match(line) for line in lines]
    assert all(matches), lines
    tp = next(m for m in matches if m["rule"] == "tp-gpu-mismatch")
    assert tp["file"] == str(inputs["findings"]) and int(tp["line"]) > 0 and tp["col"] == "1"
    assert tp["severity"] == "error" and "fix: " in tp["message"]
    json_findings = json.loads(validate("--format", "json", inputs["findings"]).stdout)["findings"]
    assert len(lines) == len(json_findings)


def test_parsable_escapes_text_from_manifests_and_marks_unknown_lines():
    finding = Finding("tp-gpu-mismatch", Severity.WARNING, "first\nsecond \x1b]0;title\x07", object="Service/a\rb",
                      overlay="overlays/x")
    (line,) = _capture("parsable", fake_result([finding])).splitlines()
    match = PARSABLE.match(line)
    assert match and (match["file"], match["line"], match["col"]) == ("overlays/x", "0", "0")
    assert "\\x0a" in line and "\\x1b" in line and "\\x0d" in line and "\x1b" not in line


# --- junit --------------------------------------------------------------------------------------

def junit_structure_errors(text: str) -> list[str]:
    """What GitLab's (Gitlab::Ci::Parsers::Test::Junit) and Jenkins' JUnit readers rely on, checked
    structurally (there is no official JUnit XSD; this follows the common Ant/Jenkins schema):
    <testsuites> holding <testsuite name tests failures errors skipped>, each holding <testcase
    name classname> with at most one of <failure>/<error>/<skipped> (failure and error with message
    and type) plus <system-out>; every count attribute matches the elements below it."""
    import xml.etree.ElementTree as ET

    problems = []
    root = ET.fromstring(text)  # also: well-formed XML 1.0 (no raw control characters)
    if root.tag != "testsuites":
        return [f"root is <{root.tag}>"]
    totals = {"tests": 0, "failures": 0, "errors": 0}
    for suite in root:
        if suite.tag != "testsuite" or not suite.get("name"):
            problems.append(f"<{suite.tag} name={suite.get('name')!r}> under <testsuites>")
            continue
        counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
        for case in suite:
            if case.tag != "testcase" or not case.get("name") or not case.get("classname"):
                problems.append(f"<{case.tag}> without name/classname in {suite.get('name')}")
                continue
            counts["tests"] += 1
            outcomes = [child for child in case if child.tag in ("failure", "error", "skipped")]
            if any(child.tag not in ("failure", "error", "skipped", "system-out", "system-err") for child in case):
                problems.append(f"unknown child of testcase {case.get('name')}")
            if len(outcomes) > 1:
                problems.append(f"testcase {case.get('name')} has {len(outcomes)} outcomes")
            for outcome in outcomes:
                counts[{"failure": "failures", "error": "errors", "skipped": "skipped"}[outcome.tag]] += 1
                if outcome.tag != "skipped" and not (outcome.get("message") and outcome.get("type")):
                    problems.append(f"<{outcome.tag}> without message/type")
        for key, value in counts.items():
            if suite.get(key) != str(value):
                problems.append(f"{suite.get('name')}: {key}={suite.get(key)!r}, counted {value}")
        for key in totals:
            totals[key] += counts[key]
    for key, value in totals.items():
        if root.get(key) != str(value):
            problems.append(f"testsuites {key}={root.get(key)!r}, counted {value}")
    return problems


def test_junit_has_the_structure_ci_systems_read(inputs):
    import xml.etree.ElementTree as ET

    result = validate("--format", "junit", inputs["findings"], inputs["clean"], inputs["warning"])
    assert result.exit_code == 1
    assert result.stdout.startswith('<?xml version="1.0" encoding="UTF-8"?>\n')
    assert junit_structure_errors(result.stdout) == []
    root = ET.fromstring(result.stdout)
    suites = {s.get("name"): s for s in root}
    assert list(suites) == [str(inputs["findings"]), str(inputs["clean"]), str(inputs["warning"])]
    failed = [c for c in suites[str(inputs["findings"])] if c.find("failure") is not None]
    assert any(c.find("failure").get("type") == "tp-gpu-mismatch" and c.get("file") == str(inputs["findings"])
               for c in failed)
    # a clean input is one passing testcase; a warning passes and says what it found
    assert [(c.get("name"), list(c)) for c in suites[str(inputs["clean"])]] == [("pdcheck", [])]
    (warning,) = suites[str(inputs["warning"])]
    assert warning.find("failure") is None and warning.find("system-out").text.startswith("warning: ")
    assert root.get("failures") == str(sum(1 for f in json.loads(validate("--format", "json", inputs["findings"]).stdout)["findings"]
                                          if f["severity"] == "error"))


def test_junit_escapes_text_from_manifests():
    finding = Finding("tp-gpu-mismatch", Severity.ERROR, "a \x00 b <c> & \x1b[2J", object="Service/\x07x",
                      file="x.yaml", line=3, overlay="overlays/x")
    out = _capture("junit", fake_result([finding]))
    assert junit_structure_errors(out) == []  # parses: no raw control characters
    assert "\x1b" not in out and "\\x00" in out and "&lt;c&gt; &amp;" in out


def test_junit_structure_check_catches_what_it_should():
    assert junit_structure_errors('<testsuites tests="1" failures="0" errors="0"><testsuite name="a" tests="2" '
                                  'failures="0" errors="0" skipped="0"><testcase name="x" classname="a"/></testsuite>'
                                  '</testsuites>')
    assert junit_structure_errors('<testsuites tests="1" failures="1" errors="0"><testsuite name="a" tests="1" '
                                  'failures="1" errors="0" skipped="0"><testcase name="x" classname="a"><failure/>'
                                  '</testcase></testsuite></testsuites>')
