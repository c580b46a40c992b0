from ...findings import Severity
from ...model import SGLANG_LAUNCH
from .._util import all_containers
from ..base import Problem, Rule


def check(model, ctx):
    for wl, pod, c in all_containers(model):
        command = c.spec.get("command")
        if not isinstance(command, list) or not command or not isinstance(command[0], str):
            continue
        program = command[0].strip()
        if not any(ch.isspace() for ch in program) or not SGLANG_LAUNCH.search(program):
            continue
        words = program.split()
        yield Problem(wl.obj, c.path + ("command", 0),
                      f"container {c.name!r} of {wl.kind} {wl.name} has its whole launch line as the one word command[0] "
                      f"({words[0]} {words[1] if len(words) > 1 else ''} ...): the runtime looks for an executable of that "
                      "whole name, so the container never starts (and pdcheck cannot check its flags)",
                      "split it into one list item per word (command: [python3, -m, sglang.launch_server, --flag, value, ...]), "
                      "or run it through a shell: command: [sh, -c], args: [\"python3 -m ...\"]")


RULE = Rule(
    id="command-not-split",
    severity=Severity.ERROR,
    summary="SGLang launch line written as one command word",
    doc="""Kubernetes passes `command` and `args` to the container runtime as the argv, word for
word, without a shell: `command: ["python3 -m sglang.launch_server --port 30000"]` asks the runtime
to execute a file named `python3 -m sglang.launch_server --port 30000`, which does not exist, and the
pod fails with `executable file not found in $PATH` (CreateContainerError / StartError). A YAML
folded block (`- >`) under `command:` produces exactly this one long word. pdcheck cannot parse the
flags of such a container either, so no flag rule checks it.""",
    links=(
        "https://kubernetes.io/docs/tasks/inject-data-application/define-command-argument-container/",
        "https://github.com/kubernetes/kubernetes/blob/v1.31.0/pkg/kubelet/kuberuntime/kuberuntime_container.go",
    ),
    check=check,
)
