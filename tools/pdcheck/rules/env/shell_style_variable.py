from ...findings import Severity
from .._util import all_containers
from ..base import Problem, Rule
from ._helpers import shell_references


def check(model, ctx):
    for wl, pod, c in all_containers(model):
        for ref in shell_references(c):
            if ref.is_template:
                continue  # envsubst-placeholder
            if ref.env_name is None:
                yield Problem(wl.obj, ref.path,
                              f"{ref.text} in container {c.name!r} is passed literally: Kubernetes expands only $({ref.name}), not shell syntax",
                              f"write $({ref.name}) (or run the command through `sh -c`)")
            else:
                yield Problem(wl.obj, ref.path,
                              f"env {ref.env_name} of container {c.name!r} is set to text containing {ref.text}, which Kubernetes does not expand",
                              f"write $({ref.name}): {ref.name} is defined before it in the container's env")


RULE = Rule(
    id="shell-style-variable",
    severity=Severity.ERROR,
    summary="Shell-style $VAR or ${VAR} for a variable the container defines, which Kubernetes passes literally",
    doc="""Kubernetes expands only the `$(VAR)` form. `$VAR` and `${VAR}` reach the program as
literal text unless a shell runs the command (`sh -c '...'`). NVIDIA Dynamo hit this with
`--dist-init-addr $LWS_LEADER_ADDRESS`: the variable exists in the pod (LeaderWorkerSet injects
it), so `$(LWS_LEADER_ADDRESS)` was meant, and SGLang got an address it cannot resolve. Reported
only for variables the container's env defines (before the use, for env values); a variable it
does not define is most likely a template placeholder (`envsubst-placeholder`).""",
    links=(
        "https://github.com/ai-dynamo/dynamo/issues/7485",
        "https://kubernetes.io/docs/tasks/inject-data-application/define-command-argument-container/#use-environment-variables-to-define-arguments",
    ),
    check=check,
)
