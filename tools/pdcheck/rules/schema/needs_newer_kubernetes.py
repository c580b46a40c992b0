from ...findings import Severity, format_path
from ..base import Problem, Rule

# Fields whose schema appears before the feature works on a default cluster, and where the field
# being dropped breaks the pod: the first release that enables the feature gate by default, and what
# an older API server does. (Fields whose loss is harmless, like resizePolicy before 1.33, are not
# listed: their schema version is enough.)
FEATURE_GATED = (
    # (kind or None for any, path tail (None: any list index), anchored at the object's root,
    #  version, feature, what happens on an older cluster)
    (None, ("initContainers", None, "restartPolicy"), False, "1.29",
     "native sidecar containers (SidecarContainers: alpha, off, in 1.28, on by default from 1.29)",
     "an older API server rejects or drops the field, and the sidecar then runs as a plain init "
     "container that never exits, so the pod never starts"),
)


def _matches(tail: tuple, anchored: bool, path: tuple) -> bool:
    if len(path) < len(tail) or (anchored and len(path) != len(tail)):
        return False
    return all((t is None and isinstance(p, int)) or t == p for t, p in zip(tail, path[-len(tail):]))


def _feature(kind: str, path: tuple):
    for for_kind, tail, anchored, version, feature, effect in FEATURE_GATED:
        if for_kind in (None, kind) and _matches(tail, anchored, path):
            return version, feature, effect
    return None


def _paths(node, path=()):
    """Every field path of a document."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield path + (key,)
            yield from _paths(value, path + (key,))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _paths(value, path + (index,))


def _key(version: str) -> tuple:
    return tuple(int(part) for part in version.split("."))


def check(model, ctx):
    floor = ctx.schema.k8s_versions[0]
    at_most = None if ctx.k8s_versions is not None else Severity.WARNING
    for obj in model.render.objects:
        found = {}  # path -> first version that has it
        for issue in ctx.schema_issues(obj):
            if issue.since is not None:  # a field newer than the floor (schema-invalid leaves it alone)
                found[tuple(issue.path)] = issue.since
        for path in _paths(obj.doc):  # fields the floor's schema has but whose feature is off there
            gated = _feature(obj.kind, path)
            if gated and _key(gated[0]) > _key(floor) and path not in found:
                found[path] = gated[0]
        for path, since in found.items():
            what, effect = "the first release whose API has the field", "an older API server rejects or drops it"
            gated = _feature(obj.kind, path)
            if gated:
                since = max(since, gated[0], key=_key)
                what, effect = gated[1], gated[2]
            yield Problem(obj, path,
                          f"{format_path(path)} needs Kubernetes >= {since} ({what}), but the versions "
                          f"checked start at {floor}: {effect}",
                          f"if every cluster this is deployed to runs Kubernetes >= {since}, check against it "
                          f"(`k8s-versions: [\"{since}\", ...]` in .pdcheck.yaml or --k8s-version {since}); "
                          "otherwise drop the field",
                          at_most=at_most)


RULE = Rule(
    id="needs-newer-kubernetes",
    severity=Severity.ERROR,
    summary="Field that only a Kubernetes release newer than the oldest one checked accepts",
    doc="""Objects are validated against the schemas of the oldest and the newest Kubernetes version
checked. A field the oldest schema does not know but a newer one does (pdcheck bundles the schemas
of every minor from 1.25) is not a typo: it needs that newer release. The finding names the first
release that has it; for fields behind a feature gate the first release that turns the gate on by
default (native sidecars, `initContainers[].restartPolicy: Always`: 1.29). On an older cluster the
API server rejects the field under strict field validation or drops it: a dropped sidecar
`restartPolicy` turns the sidecar into an init container that never exits, and the pod never
starts. An error when the versions were configured (`--k8s-version`, `k8s-versions` in
`.pdcheck.yaml`), a warning when they are pdcheck's default, which says nothing about your
clusters (README, "Which Kubernetes versions pdcheck checks").""",
    links=(
        "https://kubernetes.io/docs/concepts/workloads/pods/sidecar-containers/",
        "https://github.com/kubernetes/enhancements/tree/master/keps/sig-node/753-sidecar-containers",
        "https://kubernetes.io/docs/reference/command-line-tools-reference/feature-gates/",
    ),
    check=check,
)
