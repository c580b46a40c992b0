from ...findings import Severity
from ..base import Problem, Rule


def check(model, ctx):
    for obj in model.render.objects:
        for issue in ctx.schema_issues(obj):
            if issue.kind == "no-schema":
                yield Problem(obj, ("kind",), f"no schema for {obj.api_version or '<no apiVersion>'} {obj.kind or '<no kind>'}"
                              f" (Kubernetes {issue.k8s_version}), so it was not validated",
                              "check apiVersion and kind for typos, or pass the CRD that defines it with --crd")


RULE = Rule(
    id="schema-unknown-kind",
    severity=Severity.WARNING,
    summary="Object of a kind pdcheck has no schema for",
    doc="""An object whose apiVersion/kind matches no bundled schema and no `--crd` file is not
validated at all. Most often this is a typo (`apps/v1beta1`, `LeaderWorkerset`) that the API server
will reject at apply time, or a custom resource whose CRD pdcheck was not given.""",
    links=("https://github.com/yannh/kubeconform#overriding-schemas-location",),
    check=check,
)
