from ...findings import Severity
from .._util import all_containers
from ..base import Problem, Rule


def check(model, ctx):
    for wl, pod, c in all_containers(model):
        maybe = f" unless it comes from {', '.join(c.opaque_env)}" if c.opaque_env else ""
        reported = set()
        for var, i in c.unresolved:
            if (var, i) in reported:
                continue
            reported.add((var, i))
            yield Problem(wl.obj, c.argv_path(i),
                          f"$({var}) in container {c.name!r} is not defined in its env{maybe}, so kubelet passes the text '$({var})' to the program",
                          f"define {var} in env or envFrom (before use), or fix the name")
        for var, env_name in c.env_unresolved:
            defined_later = var in c.env
            why = "is defined after it, and kubelet only expands names defined earlier" if defined_later else f"is not defined{maybe}"
            yield Problem(wl.obj, c.env[env_name].path + ("value",),
                          f"env {env_name} of container {c.name!r} references $({var}), which {why}; the literal text stays in the value",
                          f"define {var} earlier in env (or in envFrom) or fix the name")


RULE = Rule(
    id="unresolved-variable",
    severity=Severity.ERROR,
    summary="$(VAR) in command, args or env that kubelet cannot resolve",
    doc="""Kubelet expands `$(VAR)` in `command`, `args` and env values from the container's
environment; a name it cannot resolve is left as the literal text. SGLang then receives e.g.
`--dist-init-addr $(LWS_LEADER_ADDRES):20102` and fails at start-up, or worse, an int flag parse
error only on the worker ranks. Env values may only reference variables defined *earlier* in the
list (or in `envFrom`). LeaderWorkerSet injects `LWS_LEADER_ADDRESS`, `LWS_GROUP_SIZE` and
`LWS_WORKER_INDEX` (the latter since LWS v0.6.0); pdcheck models those.""",
    links=(
        "https://kubernetes.io/docs/tasks/inject-data-application/define-interdependent-environment-variables/",
        "https://github.com/kubernetes/kubernetes/blob/master/third_party/forked/golang/expansion/expand.go",
        "https://github.com/kubernetes-sigs/lws/blob/main/pkg/utils/pod/pod_utils.go",
    ),
    check=check,
)
