import re

from ...findings import Severity
from .._util import all_containers
from ..base import Problem, Rule

# $NAME or ${NAME} not preceded by another $ ($$ is kubelet's escape for a literal $).
SHELL_VAR = re.compile(r"(?<!\$)\$(\{[A-Za-z_][A-Za-z0-9_]*\}|[A-Za-z_][A-Za-z0-9_]*)")
SHELLS = {"sh", "bash", "ash", "dash", "zsh", "/bin/sh", "/bin/bash", "/usr/bin/env"}


def _shell_script_index(argv: list[str]) -> int | None:
    """Index of the script in `sh -c SCRIPT ...`; a shell expands $VAR there, so it is fine."""
    if len(argv) >= 3 and argv[0].rsplit("/", 1)[-1] in {s.rsplit("/", 1)[-1] for s in SHELLS} and "-c" in argv[1:3]:
        return argv.index("-c", 1) + 1
    return None


def check(model, ctx):
    for wl, pod, c in all_containers(model):
        script = _shell_script_index(c.raw_argv)
        for i, item in enumerate(c.raw_argv):
            if i == script:
                continue
            m = SHELL_VAR.search(item)
            if m:
                name = m.group(1).strip("{}")
                yield Problem(wl.obj, c.argv_path(i),
                              f"{m.group(0)} in container {c.name!r} is passed literally: Kubernetes expands only $({name}), not shell syntax",
                              f"write $({name}) (or run the command through `sh -c`)")
        for var in c.env.values():
            if var.source == "env" and var.raw:
                m = SHELL_VAR.search(var.raw)
                if m:
                    name = m.group(1).strip("{}")
                    yield Problem(wl.obj, var.path + ("value",),
                                  f"env {var.name} of container {c.name!r} is set to text containing {m.group(0)}, which Kubernetes does not expand",
                                  f"use $({name}) for a variable defined earlier, or valueFrom.secretKeyRef for a secret")


RULE = Rule(
    id="shell-style-variable",
    severity=Severity.ERROR,
    summary="Shell-style $VAR or ${VAR} in args or env, which Kubernetes passes literally",
    doc="""Kubernetes expands only the `$(VAR)` form. `$VAR` and `${VAR}` reach the program as
literal text unless a shell runs the command (`sh -c '...'`). The upstream LWS SGLang example sets
`HF_TOKEN: $HF_TOKEN`, which gives the pod the nine-character string `$HF_TOKEN` as its token;
NVIDIA Dynamo hit the same with `--dist-init-addr $LWS_LEADER_ADDRESS`.""",
    links=(
        "https://github.com/ai-dynamo/dynamo/issues/7485",
        "https://kubernetes.io/docs/tasks/inject-data-application/define-command-argument-container/#use-environment-variables-to-define-arguments",
    ),
    check=check,
)
