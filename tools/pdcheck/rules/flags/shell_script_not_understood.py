from ...findings import Severity
from .._util import all_containers
from ..base import Problem, Rule


def check(model, ctx):
    for wl, pod, c in all_containers(model):
        if c.shell_problem and c.script_index is not None:
            yield Problem(wl.obj, c.argv_path(c.script_index),
                          f"container {c.name!r} of {wl.kind} {wl.name}: {c.shell_problem}; its SGLang flags, ports and "
                          "parallel layout are not checked",
                          "start the server with one plain `exec python3 -m sglang.launch_server ...` command (in "
                          "`command`/`args`, or as the script's last command) so it can be checked")


RULE = Rule(
    id="shell-script-not-understood",
    severity=Severity.INFO,
    summary="Launcher script naming SGLang whose launch command pdcheck cannot find",
    doc="""Engines and routers are often started by a `sh -c` / `bash -c` script, or by a script file
mounted from a ConfigMap (`bash /scripts/start.sh`; kubelet expands no `$(VAR)` inside such a
file). pdcheck parses it
with a real shell grammar (tree-sitter-bash) and finds the command the shell would run: comments,
backslash-newline continuations, `;` / `&&` / pipelines, `if` branches whose test it can decide,
functions the script calls, `$VAR` / `${VAR:-x}` / `${VAR##*-}` from the container's environment
(including what LeaderWorkerSet injects and `$HOSTNAME`); `$(command)`, `$(( ))` and variables only
the image or the running pod knows stay opaque and are never type-checked. When the script names
SGLang but its launch command cannot be found (a syntax error the shell would also reject,
different commands in branches decided at run time, `eval`, a command whose name is a variable),
every check of that container's flags would be skipped silently: this finding says so once.""",
    links=(
        "https://pubs.opengroup.org/onlinepubs/9799919799/utilities/V3_chap02.html",
        "https://github.com/tree-sitter/tree-sitter-bash",
    ),
    check=check,
)
