"""Flag rules: each case is one defect applied to the clean baseline, and the rules it fires."""

import shlex

import pytest

from ruletest import baseline, engine, pod_spec, rules_fired, run_rules, set_flag

P, D, R = "r1-prefill", "r1-decode", "r1-router"
DIGEST = "lmsysorg/sglang@sha256:" + "ab" * 32


def add(name, *items):
    return lambda d: engine(d, name)["args"].extend(items)


def image(name, ref):
    return lambda d: engine(d, name).update({"image": ref})


def secret_env(name, var):
    return lambda d: engine(d, name).setdefault("env", []).append(
        {"name": var, "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}})


def both(*mutations):
    def apply(d):
        for m in mutations:
            m(d)
    return apply


CASES = [
    # (case id, mutation, sglang version override, rules that must fire and nothing else)
    ("typo-with-value", add(P, "--max-runing-requests", "1024"), None, {"flag-unknown"}),
    ("router-typo", add(R, "--prefill-polcy", "random"), None, {"flag-unknown"}),
    ("removed-flag-0523", lambda d: None, "0.5.23", {"flag-unknown", "flag-ambiguous", "flag-deprecated"}),
    ("prefix-of-two", add(D, "--cuda-graph", "128"), None, {"flag-ambiguous"}),
    ("bad-int", lambda d: set_flag(engine(d, P), "--context-length", "32k"), None, {"flag-invalid-value"}),
    ("bad-choice", lambda d: set_flag(engine(d, P), "--load-balance-method", "round-robin"), None, {"flag-invalid-value"}),
    ("flag-and-value-in-one-item", add(D, "--log-level debug"), None, {"flag-invalid-value"}),
    ("value-after-boolean", lambda d: engine(d, P)["args"].insert(engine(d, P)["args"].index("--disable-radix-cache") + 1, "true"),
     None, {"flag-invalid-value"}),
    ("missing-value-at-end", add(R, "--port"), None, {"flag-invalid-value"}),
    ("date-tag", image(R, "registry.local/sglang:20251106"), None, {"image-unpinned"}),
]

NEAR_MISSES = [
    ("unique-prefix", add(P, "--max-prefill", "32768")),
    ("equals-form", add(P, "--watchdog-timeout=600")),
    ("secret-value", both(secret_env(P, "CTX"), lambda d: set_flag(engine(d, P), "--context-length", "$(CTX)"))),
    ("versioned-tag", image(R, "lmsysorg/sglang:v0.5.6.post2-cu126")),
    ("digest-pins-content", image(R, DIGEST)),
]


@pytest.mark.parametrize("mutate, version, expected", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_defect_fires_its_rule_only(mutate, version, expected):
    docs = baseline()
    mutate(docs)
    assert rules_fired(docs, sglang_version=version) == expected


@pytest.mark.parametrize("mutate", [c[1] for c in NEAR_MISSES], ids=[c[0] for c in NEAR_MISSES])
def test_near_miss_is_clean(mutate):
    docs = baseline()
    mutate(docs)
    assert rules_fired(docs) == set()


def test_unresolved_variable_is_reported_once():
    docs = baseline()
    set_flag(engine(docs, P), "--context-length", "$(PD_CONTEXT)")
    assert rules_fired(docs) == {"unresolved-variable"}


def test_a_moving_tag_is_reported_once():
    docs = baseline()
    image(R, "lmsysorg/sglang:deepep")(docs)
    (finding,) = run_rules(docs)
    assert finding.rule == "image-unpinned" and "tag `deepep` is not a version" in finding.message


def test_findings_point_at_the_argv_entry():
    docs = baseline()
    add(P, "--max-runing-requests", "1024")(docs)
    (finding,) = run_rules(docs)
    args = engine(docs, P)["args"]
    assert finding.path_text.endswith(f"containers[0].args[{len(args) - 2}]")
    assert "did you mean --max-running-requests?" in finding.message


# --- engines started by a shell script (sh -c / bash -c) ---------------------------------------

def as_script(name, edit=lambda lines: lines, shell=("bash", "-c")):
    """Turn a workload's command + args into a `bash -c` script, one flag per continued line,
    after `edit(lines)` (a list of shell source lines, the launch command first)."""
    def apply(d):
        c = engine(d, name)
        words = c.pop("command") + c.pop("args")
        launch, line = [], []
        for word in words:  # one line per flag and its values
            if word.startswith("--") and line:
                launch.append(" ".join(line))
                line = []
            line.append(shlex.quote(word))
        launch.append(" ".join(line))
        c["command"] = list(shell) + ["\n".join(edit([" \\\n  ".join(launch)]))]
    return apply


def replace_in_script(name, old, new):
    def edit(lines):
        assert old in lines[0], f"{old!r} is not in the script"
        return [lines[0].replace(old, new, 1)]
    return as_script(name, edit)


def prefix(*statements):
    return lambda lines: list(statements) + ["exec " + lines[0]]


SHELL_CASES = [
    # The defect stays visible through continuations, comments and other commands.
    ("script-typo", as_script(P, lambda lines: ["# prefill", lines[0].replace("--max-running-requests", "--max-runing-requests")]),
     {"flag-unknown"}),
    ("script-default-tp", replace_in_script(P, "--tp-size 16", "--tp-size ${TP:-8}"), {"tp-gpu-mismatch", "tp-dp-indivisible"}),
    ("script-syntax-error", as_script(P, lambda lines: ["if true; then", lines[0]]), {"shell-script-not-understood"}),
    ("script-branches-decided-at-run-time", as_script(P, lambda lines: [
        f'if [ -e /ready ]; then {lines[0]}; else {lines[0]} --log-level debug; fi']), {"shell-script-not-understood"}),
    ("script-eval", as_script(P, lambda lines: ["eval " + shlex.quote(lines[0])]), {"shell-script-not-understood"}),
    ("router-script-typo", as_script(R, lambda lines: ["set -e", lines[0] + " --prefill-polcy random"]), {"flag-unknown"}),
]

SHELL_NEAR_MISSES = [
    ("continuations-and-comments", as_script(P, lambda lines: ["# launch", "set -ex  # trace", lines[0] + "  # end"])),
    ("several-commands", as_script(P, prefix("find /dev/shm -type f -delete", "ulimit -n 65536 && echo start"))),
    ("pipeline", as_script(D, lambda lines: [lines[0] + " 2>&1 | tee /tmp/decode.log"])),
    ("sh-and-options", as_script(D, shell=("/bin/sh", "-ec"))),
    ("bash-o-pipefail", as_script(D, shell=("bash", "-o", "pipefail", "-c"))),
    ("var-from-env", both(lambda d: engine(d, P).setdefault("env", []).append({"name": "TP", "value": "16"}),
                          replace_in_script(P, "--tp-size 16", "--tp-size $TP"))),
    ("default-overridden-by-env", both(lambda d: engine(d, P).setdefault("env", []).append({"name": "TP", "value": "16"}),
                                       replace_in_script(P, "--tp-size 16", "--tp-size ${TP:-8}"))),
    ("lws-var-in-shell-form", replace_in_script(P, "'$(LWS_WORKER_INDEX)'", '"${LWS_WORKER_INDEX}"')),
    ("arithmetic-node-rank", replace_in_script(P, "'$(LWS_WORKER_INDEX)'", "$((LWS_WORKER_INDEX + 0))")),
    ("hostname-ordinal", replace_in_script(P, "'$(LWS_WORKER_INDEX)'", "${HOSTNAME##*-}")),
    ("command-substitution", replace_in_script(D, "0.0.0.0", "$(hostname -i)")),
    ("unknown-image-variable", replace_in_script(D, "--mem-fraction-static 0.849", "--mem-fraction-static $MEM_FRACTION")),
    ("secret-in-script", both(secret_env(P, "CTX"), replace_in_script(P, "--context-length 32768", "--context-length $(CTX)"))),
    ("branch-decided-by-rank", as_script(P, lambda lines: [
        f'if [ "$LWS_WORKER_INDEX" -eq 0 ]; then echo leader; fi', f'exec {lines[0]}'])),
    ("flags-in-an-image-variable", as_script(P, lambda lines: [
        'ARGS="$ENGINE_ARGS --nnodes $LWS_GROUP_SIZE"', "exec python3 -m sglang.launch_server $ARGS"])),
    ("function-call", as_script(P, lambda lines: ['serve() {', lines[0].replace("--model-path", '"$@" --model-path', 1),
                                                  '}', 'serve --trust-remote-code'])),
    ("positional-parameters", lambda d: engine(d, D).update(
        command=["sh", "-c", 'exec "$@"', "--"] + engine(d, D)["command"] + engine(d, D).pop("args"))),
]


@pytest.mark.parametrize("mutate, expected", [c[1:] for c in SHELL_CASES], ids=[c[0] for c in SHELL_CASES])
def test_shell_script_defect_fires_its_rule_only(mutate, expected):
    docs = baseline()
    mutate(docs)
    assert rules_fired(docs) == expected


@pytest.mark.parametrize("mutate", [c[1] for c in SHELL_NEAR_MISSES], ids=[c[0] for c in SHELL_NEAR_MISSES])
def test_shell_script_near_miss_is_clean(mutate):
    docs = baseline()
    mutate(docs)
    assert rules_fired(docs) == set()


def test_a_script_that_names_no_sglang_is_left_alone():
    docs = baseline()
    engine(docs, D)["command"] = ["sh", "-c", "if true; then"]  # broken, but not an SGLang launcher
    engine(docs, D).pop("args")
    assert "shell-script-not-understood" not in rules_fired(docs)


# --- guessed versions: version-dependent findings are warnings that say how to pin -------------

def _flag_findings(docs, **kwargs):
    return [f for f in run_rules(docs, **kwargs) if f.rule.startswith("flag-")]


@pytest.mark.parametrize("tag", ["latest", "dev", "nightly-dev-20251106-4b4b0ab0", None, "v0.5.9-cu129"])
def test_flag_findings_on_a_guessed_catalog_are_warnings_that_say_how_to_pin(tag):
    docs = baseline()
    image(P, "lmsysorg/sglang" + (f":{tag}" if tag else ""))(docs)
    add(P, "--max-runing-requests", "1024")(docs)
    found = _flag_findings(docs)
    assert any(f.rule == "flag-unknown" and "--max-runing-requests" in f.message for f in found)
    for f in found:
        assert f.severity.value == "warning", f
        assert "assumed sglang" in f.message and "--sglang-version" in f.message and ".pdcheck.yaml" in f.message


def test_the_same_flag_finding_on_a_named_release_is_an_error():
    docs = baseline()
    add(P, "--max-runing-requests", "1024")(docs)
    (finding,) = run_rules(docs)
    assert finding.severity.value == "error" and "assumed" not in finding.message


def test_a_pinned_version_is_no_guess():
    docs = baseline()
    image(P, "lmsysorg/sglang:latest")(docs)
    add(P, "--max-runing-requests", "1024")(docs)
    found = _flag_findings(docs, sglang_version="0.5.6.post2")
    assert [(f.rule, f.severity.value) for f in found] == [("flag-unknown", "error")]
    assert "assumed" not in found[0].message


def test_a_router_version_guessed_from_an_unlisted_sglang_release_is_a_warning():
    docs = baseline()
    image(R, "lmsysorg/sglang:v0.5.9-cu129")(docs)
    add(R, "--prefill-polcy", "random")(docs)
    (finding,) = _flag_findings(docs)
    assert finding.severity.value == "warning" and "--router-version" in finding.message


def test_a_vllm_deployment_started_by_scripts_gets_no_sglang_finding():
    """Ray bootstrap and vLLM server in `sh -c` scripts, with $(LWS_*), $(( )) and an envsubst token."""
    docs = baseline("vllm-lws-shell.yaml")
    assert sorted((f.rule, f.severity.value) for f in run_rules(docs)) == [("envsubst-placeholder", "warning")] * 2


# --- scripts mounted from a ConfigMap ----------------------------------------------------------

def mounted_script(name, edit=lambda text: text, command=("bash", "/opt/launch/start.sh"), shebang="", items=False):
    """Move a workload's launch into a ConfigMap script mounted at /opt/launch."""
    def apply(d):
        c = engine(d, name)
        words = c.pop("command") + c.pop("args")
        text = shebang + "set -e\nexec " + " ".join(shlex.quote(w) for w in words) + "\n"
        d.append({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"{name}-launch"},
                  "data": {"start.sh": edit(text)}})
        volume = {"name": "launch", "configMap": {"name": f"{name}-launch", "defaultMode": 0o755}}
        if items:
            volume["configMap"]["items"] = [{"key": "start.sh", "path": "start.sh"}]
        pod_spec(d, name).setdefault("volumes", []).append(volume)
        c.setdefault("volumeMounts", []).append({"name": "launch", "mountPath": "/opt/launch"})
        c["command"] = list(command)
    return apply


def test_a_mounted_script_is_read():
    docs = baseline()
    mounted_script(P, lambda text: text.replace("--max-running-requests", "--max-runing-requests"))(docs)
    (finding,) = run_rules(docs)
    assert finding.rule == "flag-unknown" and finding.path_text.endswith("containers[0].command[1]")


@pytest.mark.parametrize("how", [
    dict(), dict(items=True), dict(command=("/opt/launch/start.sh",), shebang="#!/usr/bin/env bash\n"),
    dict(command=("/bin/sh", "/opt/launch/start.sh"), shebang="#!/bin/sh -e\n"),
])
def test_a_mounted_script_near_miss_is_clean(how):
    docs = baseline()
    mounted_script(D, **how)(docs)
    assert rules_fired(docs) == set()


def test_a_mounted_file_without_a_shell_line_is_not_read_as_a_script():
    docs = baseline()
    mounted_script(D, lambda text: text.replace("--max-running-requests", "--max-runing-requests"),
                   command=("/opt/launch/start.sh",))(docs)  # the kernel cannot execute it: nothing is launched
    assert "flag-unknown" not in rules_fired(docs)


def test_a_launch_command_from_the_env_is_followed():
    docs = baseline()
    c = engine(docs, D)
    launch = " ".join(c.pop("command") + c.pop("args")).replace("--max-running-requests", "--max-runing-requests")
    c.setdefault("env", []).append({"name": "LAUNCH", "value": launch})
    c["command"] = ["sh", "-c", "exec $LAUNCH"]
    assert rules_fired(docs) == {"flag-unknown"}
