from ...findings import Severity
from ..base import Problem, Rule


def check(model, ctx):
    for doc_index, line, what in model.render.non_objects:
        yield Problem(None, (), f"document {doc_index + 1} (line {line}) is a {what}, not a Kubernetes object",
                      "make every YAML document a mapping with apiVersion, kind and metadata")
    for obj in model.render.objects:
        for issue in ctx.schema_issues(obj):
            if issue.kind == "no-schema" or issue.since is not None:
                continue  # schema-unknown-kind / needs-newer-kubernetes report these
            schema = issue.schema or f"Kubernetes {issue.k8s_version} schema"
            yield Problem(obj, tuple(issue.path), f"{issue.message} ({schema})",
                          "fix the field as the API reference for this kind and version describes")


RULE = Rule(
    id="schema-invalid",
    severity=Severity.ERROR,
    summary="Object does not match the strict Kubernetes / LeaderWorkerSet schema",
    doc="""Every object is validated against kubernetes-validate's strict OpenAPI-derived schema for
each configured Kubernetes version (by default the oldest still supported and the newest bundled,
README "Which Kubernetes versions pdcheck checks"), LeaderWorkerSets against
pdcheck's schema of the LWS v1 API whose pod templates are the core PodTemplateSpec of the same
version, and custom resources against any CRD given with `--crd`. Strict means unknown fields are
errors: the API server drops them silently (or rejects them under `kubectl apply --validate=strict`),
so a typo such as `resource:` for `resources:` leaves pods without GPU limits. A field that only a
newer Kubernetes release has is `needs-newer-kubernetes` instead.""",
    links=(
        "https://kubernetes.io/docs/reference/using-api/api-concepts/#field-validation",
        "https://github.com/kubernetes-sigs/lws/blob/main/api/leaderworkerset/v1/leaderworkerset_types.go",
    ),
    check=check,
)
