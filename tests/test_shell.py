"""shell.find_launch: the command a launcher script runs, found the way the shell would."""

import pytest

from pdcheck.argv import split_launcher
from pdcheck.shell import OPAQUE, find_launch, shell_invocation

LAUNCH = "python3 -m sglang.launch_server"
ENV = {"TP": "8", "EMPTY": "", "KEY": OPAQUE, "HOSTNAME": "r1-prefill-0-1", "ARGS": "--dp 2  --ep 2"}


def launch(script, positional=("sh",)):
    return find_launch(script, ENV.get, list(positional), lambda words: split_launcher(words)[0])


def flags(script, positional=("sh",)):
    result = launch(script, positional)
    assert result.problem is None, result.problem
    return split_launcher(result.words)[1]


@pytest.mark.parametrize("script, expected", [
    # backslash-newline continuations (shlex kept '\n--tp' as one token)
    (f"{LAUNCH} \\\n  --model-path /m \\\n  --tp 8", ["--model-path", "/m", "--tp", "8"]),
    (f"# start\n{LAUNCH} --tp 8  # eight GPUs\n# done", ["--tp", "8"]),
    (f"find /dev/shm -type f -delete; exec {LAUNCH} --tp 8", ["--tp", "8"]),
    (f"pip install x && {LAUNCH} --tp 8 || exit 1", ["--tp", "8"]),
    (f"{LAUNCH} --tp 8 2>&1 | tee /tmp/log", ["--tp", "8"]),
    (f"set -e\nexport NCCL_DEBUG=INFO\nenv A=1 nohup {LAUNCH} --tp 8 &\nwait", ["--tp", "8"]),
    # variables: the container's env, the script's own assignments, defaults
    (f"{LAUNCH} --tp $TP --pp ${{TP}}", ["--tp", "8", "--pp", "8"]),
    (f"{LAUNCH} --tp ${{TP:-4}} --pp ${{PP:-2}} --dp ${{EMPTY:-3}} --ep ${{EMPTY-5}}", ["--tp", "8", "--pp", "2", "--dp", "3", "--ep"]),
    (f"{LAUNCH} --a ${{TP:+x}} --b ${{PP:+y}}", ["--a", "x", "--b", ""]),
    (f"{LAUNCH} --node-rank ${{HOSTNAME##*-}} --name ${{HOSTNAME%-*}}", ["--node-rank", "1", "--name", "r1-prefill-0"]),
    (f"PORT=30001\nexport MODEL=/m/$TP\n{LAUNCH} --port $PORT --model-path \"$MODEL\"", ["--port", "30001", "--model-path", "/m/8"]),
    (f"{LAUNCH} $ARGS \"$ARGS\"", ["--dp", "2", "--ep", "2", "--dp 2  --ep 2"]),
    # what only the running pod knows stays one opaque word
    (f"{LAUNCH} --node-rank $((LWS_WORKER_INDEX + 1)) --host $(hostname -i) --x `date`",
     ["--node-rank", "<$((LWS_WORKER_INDEX + 1))>", "--host", "<$(hostname -i)>", "--x", "<`date`>"]),
    (f"{LAUNCH} --api-key \"$KEY\" --model-path $MODEL_DIR/r1 --k ${{KEY:-x}}",
     ["--api-key", "<$KEY>", "--model-path", "<$MODEL_DIR>/r1", "--k", "<${KEY:-x}>"]),
    # quoting
    (f"{LAUNCH} --a 'x y' --b \"x \\\"y\\\" \\$z\" --c x\\ y", ["--a", "x y", "--b", 'x "y" $z', "--c", "x y"]),
    # control flow
    (f'if [ "$TP" -eq 8 ]; then {LAUNCH} --tp 8; else {LAUNCH} --tp 4; fi', ["--tp", "8"]),
    (f'if [[ $TP == 4 ]]; then {LAUNCH} --tp 4; elif [ "$TP" = 8 ]; then {LAUNCH} --tp 8; fi', ["--tp", "8"]),
    (f'serve() {{ exec {LAUNCH} "$@"; }}\nserve --tp 8 --model-path "/a b"', ["--tp", "8", "--model-path", "/a b"]),
    (f'(cd /tmp && {LAUNCH} --tp 8) > /tmp/log 2>&1', ["--tp", "8"]),
    (f"numactl --interleave=all {LAUNCH} --tp 8", ["--tp", "8"]),
    (f"timeout 3600 /usr/bin/python3.11 -u -m sglang.launch_server --tp 8", ["--tp", "8"]),
    ("uv run sglang serve --tp 8", ["--tp", "8"]),
    ("python3 -m sglang.cli.main serve --tp 8", ["--tp", "8"]),
])
def test_launch_command(script, expected):
    assert flags(script) == expected


def test_positional_parameters_of_sh_c():
    assert flags('exec "$@"', ["sh", *LAUNCH.split(), "--tp", "8"]) == ["--tp", "8"]
    assert flags(f'{LAUNCH} --tp "$1" --pp $2 --x "$3"', ["sh", "8", "2"]) == ["--tp", "8", "--pp", "2", "--x", ""]


@pytest.mark.parametrize("script, why", [
    (f"{LAUNCH} --tp '8", "syntax error near line 1"),
    (f"if true; then\n{LAUNCH} --tp 8", "syntax error"),
    (f'if [ -e /x ]; then {LAUNCH} --tp 8; else {LAUNCH} --tp 4; fi', "2 different sglang launch commands"),
    (f'{LAUNCH} --tp 8 &\npython3 -m sglang_router.launch_router --pd-disaggregation', "2 different sglang/sglang-router launch commands"),
    (f"eval {LAUNCH} --tp 8", "cannot follow (eval python3"),
    ("$PYTHON -m sglang.launch_server --tp 8", "cannot follow ($PYTHON"),
    ("deepspeed --module sglang.launch_server --tp 8", "none of its commands is a launch pdcheck recognises"),
])
def test_scripts_that_are_not_understood_say_why(script, why):
    result = launch(script)
    assert result.words is None and why in result.problem


@pytest.mark.parametrize("script", ["sleep 10; echo done", "if true; then", "vllm serve m --tensor-parallel-size 8", "python3 /app/run_sglang.py",
                                    "pip install 'sglang[all]' && cp -r /models/sglang /cache"])
def test_scripts_that_name_no_sglang_are_none_of_its_business(script):
    assert launch(script).words is None and launch(script).problem is None


def test_a_command_in_a_variable_is_split_and_followed():
    assert flags(f"CMD='{LAUNCH}'; $CMD --tp 8") == ["--tp", "8"]


def test_the_same_command_in_every_branch_is_understood():
    assert flags(f'if [ -e /x ]; then echo a; {LAUNCH} --tp 8; else {LAUNCH} --tp 8; fi') == ["--tp", "8"]


@pytest.mark.parametrize("argv, index, positional", [
    (["sh", "-c", "x"], 2, []),
    (["/bin/bash", "-ec", "x", "a0", "a1"], 2, ["a0", "a1"]),
    (["bash", "-o", "pipefail", "-c", "x"], 4, []),
    (["bash", "-l", "-c", "x"], 3, []),
    (["/usr/bin/zsh", "-xc", "x"], 2, []),
    (["/usr/bin/env", "bash", "-c", "x", "a0"], 3, ["a0"]),
])
def test_shell_invocation(argv, index, positional):
    found = shell_invocation(argv)
    assert found.script_index == index and found.script == "x" and found.positional == positional


@pytest.mark.parametrize("argv", [["sh", "/start.sh"], ["bash"], ["python3", "-c", "x"], ["sh", "-c"], ["shell", "-c", "x"], ["env", "A=1", "sh", "-c", "x"]])
def test_not_a_shell_invocation(argv):
    assert shell_invocation(argv) is None


def test_a_wrapper_without_a_launch_is_not_one():
    assert launch("timeout 10 python3 /app/sglang_probe.py").words is None


def test_a_very_deep_script_is_not_understood_but_does_not_crash():
    script = " && ".join(["true"] * 5000) + f" && {LAUNCH} --tp 8"
    result = launch(script)
    assert result.words is None and "nested too deeply" in result.problem
