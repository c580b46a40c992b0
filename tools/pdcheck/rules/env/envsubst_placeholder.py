from ...findings import Severity
from .._util import all_containers
from ..base import Problem, Rule
from ._helpers import shell_references


def check(model, ctx):
    for wl, pod, c in all_containers(model):
        for ref in shell_references(c):
            if not ref.is_template:
                continue  # shell-style-variable
            where = f"env {ref.env_name}" if ref.env_name else "an argument"
            yield Problem(wl.obj, ref.path,
                          f"{where} of container {c.name!r} holds {ref.text}, an envsubst-style template placeholder: "
                          f"applied without `envsubst`, the program gets the literal text {ref.text}",
                          f"render the file with `envsubst < file | kubectl apply -f -` (as the LWS examples do), or "
                          + (f"take {ref.env_name} from a Secret (valueFrom.secretKeyRef)" if ref.env_name
                             else f"define {ref.name} in the container's env and write $({ref.name})"))


RULE = Rule(
    id="envsubst-placeholder",
    severity=Severity.WARNING,
    summary="$VAR / ${VAR} left for envsubst: literal text unless the file is rendered first",
    doc="""Many published manifests are templates, rendered with `envsubst` (or a CI step like it)
before `kubectl apply`: the LeaderWorkerSet SGLang example writes `env: [{name: HF_TOKEN, value:
$HF_TOKEN}]` (its README says to put the token in by hand). Kubernetes itself expands only
`$(VAR)`, so applied as is, the pod gets the literal nine characters `$HF_TOKEN` (a gated model
download then fails with 401). A warning, not an error: pdcheck cannot tell a template from a
manifest applied directly. Reported for `$NAME` /
`${NAME}` in args or env values where the container does not define NAME, and for an env var set to
its own name; a variable the container does define is `shell-style-variable` (an error: `$(NAME)`
was meant). Scripts run by `sh -c` are the shell's to expand and are not reported.""",
    links=(
        "https://github.com/kubernetes-sigs/lws/blob/0377103b1aee88acf3f731392c4d2e139b790109/docs/examples/sglang/lws.yaml",
        "https://www.gnu.org/software/gettext/manual/html_node/envsubst-Invocation.html",
        "https://kubernetes.io/docs/tasks/inject-data-application/define-interdependent-environment-variables/",
    ),
    check=check,
)
