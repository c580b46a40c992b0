"""The command-line conventions of kube-linter, kubeconform, yamllint and conftest (#16 item 5):
--enable/--disable, `rules --format json`, rule-id suggestions, FORCE_COLOR/NO_COLOR, progress."""

import io
import json
import os
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from pdcheck.cli import _use_color, app
from pdcheck.progress import DELAY_S, Progress
from pdcheck.rules import all_rules
from ruletest import baseline, engine, set_flag

runner = CliRunner()


@pytest.fixture(scope="module")
def broken(tmp_path_factory) -> Path:
    docs = baseline()
    set_flag(engine(docs, "r1-prefill"), "--tp-size", "8")  # tp-gpu-mismatch (error)
    set_flag(engine(docs, "r1-prefill"), "--dp-size", "8")
    path = tmp_path_factory.mktemp("cli") / "broken.yaml"
    widget = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}}  # schema-unknown-kind
    path.write_text(yaml.safe_dump_all(docs + [widget], sort_keys=False))
    return path


def rules_found(*args) -> tuple[int, set[str]]:
    result = runner.invoke(app, ["validate", "--no-cache", "--format", "json", *map(str, args)])
    return result.exit_code, {f["rule"] for f in json.loads(result.stdout)["findings"]} if result.stdout else set()


# --- --enable / --disable -----------------------------------------------------------------------

def test_disable_turns_a_rule_off(broken):
    code, rules = rules_found(broken)
    assert code == 1 and "tp-gpu-mismatch" in rules
    code, rules = rules_found("--disable", "tp-gpu-mismatch", broken)
    assert "tp-gpu-mismatch" not in rules


def test_enable_wins_over_the_configuration_and_disable_over_enable(broken, tmp_path):
    config = tmp_path / "off.pdcheck.yaml"
    config.write_text("rules:\n  tp-gpu-mismatch: off\n")
    assert "tp-gpu-mismatch" not in rules_found("--config", config, broken)[1]
    assert "tp-gpu-mismatch" in rules_found("--config", config, "--enable", "tp-gpu-mismatch", broken)[1]
    both = rules_found("--enable", "tp-gpu-mismatch", "--disable", "tp-gpu-mismatch", broken)[1]
    assert "tp-gpu-mismatch" not in both


def test_disable_is_repeatable(broken):
    everything = rules_found(broken)[1]
    assert len(everything) >= 2
    args = [a for rule in everything for a in ("--disable", rule)]
    assert rules_found(*args, broken) == (0, set())


@pytest.mark.parametrize("option", ["--enable", "--disable"])
def test_an_unknown_rule_id_exits_2_with_the_nearest_id(broken, option):
    result = runner.invoke(app, ["validate", option, "tp-gpu-missmatch", str(broken)])
    assert result.exit_code == 2 and result.stdout == ""
    assert f"{option}: unknown rule 'tp-gpu-missmatch'; did you mean 'tp-gpu-mismatch'?" in result.stderr


def test_the_results_cache_tells_enabled_sets_apart(broken, tmp_path):
    cache = ["--cache-dir", str(tmp_path / "cache")]
    for _ in range(2):  # the second round is answered from the cache
        plain = runner.invoke(app, ["validate", "--format", "json", *cache, str(broken)])
        disabled = runner.invoke(app, ["validate", "--format", "json", *cache, "--disable", "tp-gpu-mismatch", str(broken)])
        assert "tp-gpu-mismatch" in plain.stdout and "tp-gpu-mismatch" not in disabled.stdout


# --- rules, explain -----------------------------------------------------------------------------

def test_rules_text_has_a_header_row():
    lines = runner.invoke(app, ["rules"]).stdout.splitlines()
    assert lines[0].split() == ["RULE", "SEVERITY", "CATEGORY", "SUMMARY"]
    assert len(lines) == len(all_rules()) + 1


def test_rules_json_lists_every_rule():
    result = runner.invoke(app, ["rules", "--format", "json"])
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert isinstance(data["version"], str)
    assert [r["id"] for r in data["rules"]] == [r.id for r in all_rules()]
    for entry in data["rules"]:
        assert set(entry) == {"id", "severity", "category", "summary", "doc", "links"}
        assert entry["severity"] in ("error", "warning", "info") and entry["links"]


@pytest.mark.parametrize("typo, nearest", [("tp-gpu-mismatc", "tp-gpu-mismatch"), ("envdrift", "env-drift")])
def test_explain_suggests_the_nearest_rule_id(typo, nearest):
    result = runner.invoke(app, ["explain", typo])
    assert result.exit_code == 2
    assert f"unknown rule {typo!r}; did you mean {nearest!r}?" in result.stderr


def test_explain_suggests_nothing_for_an_id_like_no_rule():
    result = runner.invoke(app, ["explain", "xyzzy"])
    assert result.exit_code == 2 and "did you mean" not in result.stderr and "unknown rule 'xyzzy'" in result.stderr


# --- colour -------------------------------------------------------------------------------------

class Stream(io.StringIO):
    def __init__(self, tty: bool):
        super().__init__()
        self.tty = tty

    def isatty(self):
        return self.tty


@pytest.mark.parametrize("flag, env, tty, expected", [
    (None, {}, True, True), (None, {}, False, False),
    (None, {"FORCE_COLOR": "1"}, False, True),
    (None, {"FORCE_COLOR": ""}, False, False),  # set but empty: not set
    (None, {"NO_COLOR": "1"}, True, False),
    (None, {"NO_COLOR": ""}, True, True),
    (None, {"NO_COLOR": "1", "FORCE_COLOR": "1"}, True, False),  # NO_COLOR wins, as in CPython
    (True, {"NO_COLOR": "1"}, False, True), (False, {"FORCE_COLOR": "1"}, True, False),  # the flags win
])
def test_colour_choice(monkeypatch, flag, env, tty, expected):
    for name in ("NO_COLOR", "FORCE_COLOR"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert _use_color(flag, Stream(tty)) is expected


def test_force_color_colours_text_output_through_a_pipe(broken):
    env = {"FORCE_COLOR": "1", "NO_COLOR": ""}
    coloured = runner.invoke(app, ["validate", "--no-cache", str(broken)], env=env)
    assert "\x1b[31merror\x1b[0m" in coloured.stdout


# --- progress -----------------------------------------------------------------------------------

class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def test_progress_waits_a_second_then_rewrites_one_line_and_erases_it():
    stream, clock = Stream(True), Clock()
    progress = Progress(stream, 3, clock)
    progress("overlays/a")
    assert stream.getvalue() == ""  # a run done within DELAY_S shows nothing
    clock.now += DELAY_S
    progress("overlays/b\x1b[2J")
    assert stream.getvalue() == "\r\x1b[Kpdcheck: checking 2/3 overlays/b\\x1b[2J"  # names are escaped
    progress.close()
    assert stream.getvalue().endswith("\r\x1b[K")


def test_progress_only_on_a_terminal(broken):
    assert Progress.on_terminal(Stream(False), 3) is None
    assert isinstance(Progress.on_terminal(Stream(True), 3), Progress)
    result = runner.invoke(app, ["validate", "--no-cache", str(broken)])  # stderr is not a terminal here
    assert "\r" not in result.stderr
