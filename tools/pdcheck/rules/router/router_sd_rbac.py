from ...findings import Severity
from ...model import dig, Flag
from .. import _links as L
from .._k8s import may_share_namespace, ns_of
from .._router import discovery_namespace, is_pd, uses_discovery
from .._util import list_of
from ..base import Problem, Rule

NEEDED = ("list", "watch")  # kube-rs watcher(): an initial list, then watch


def _pod_verbs(role) -> set[str]:
    verbs = set()
    for rule in list_of(dig(role.doc, "rules")):
        if not isinstance(rule, dict):
            continue
        groups, resources = list_of(rule.get("apiGroups")), list_of(rule.get("resources"))
        rule_verbs = {v for v in list_of(rule.get("verbs")) if isinstance(v, str)}
        if ("" in groups or "*" in groups) and ("pods" in resources or "*" in resources):
            verbs |= {"list", "watch", "get"} if "*" in rule_verbs else rule_verbs
    return verbs


def _binds(binding, sa, sa_ns) -> bool:
    for s in list_of(binding.doc.get("subjects")):
        if isinstance(s, dict) and s.get("kind") == "ServiceAccount" and s.get("name") == sa and may_share_namespace(s.get("namespace") or ns_of(binding), sa_ns):
            return True
    return False


def check(model, ctx):
    for wl, c in model.routers:
        if not is_pd(c) or not uses_discovery(c):
            continue
        spec, spath = wl.leader.spec, wl.leader.spec_path
        sa = spec.get("serviceAccountName") or spec.get("serviceAccount") or "default"
        ns = ns_of(wl.obj)
        if c.flag("--service-discovery-namespace").state == Flag.RUNTIME:
            continue
        watch_ns = discovery_namespace(wl, c)
        sa_obj = next((o for o in model.objects_of("ServiceAccount") if o.name == sa and may_share_namespace(ns_of(o), ns)), None)
        automount = spec.get("automountServiceAccountToken")
        if automount is None and sa_obj is not None:
            automount = sa_obj.doc.get("automountServiceAccountToken")
        if automount is False:
            yield Problem(wl.obj, spath + ("automountServiceAccountToken",),
                          f"router {wl.name} uses --service-discovery but mounts no service account token, so it cannot talk to the Kubernetes API",
                          "set automountServiceAccountToken: true on the router pod")
            continue
        if sa != "default" and sa_obj is None:
            yield Problem(wl.obj, spath + ("serviceAccountName",),
                          f"router {wl.name} runs as ServiceAccount {sa}, which is not in the render, so pdcheck cannot verify its pod permissions",
                          f"render ServiceAccount {sa} with the router, plus a Role granting list/watch on pods and a RoleBinding")
            continue
        verbs = set()
        roles = {(o.kind, o.name, ns_of(o)): o for o in model.objects_of("Role") + model.objects_of("ClusterRole")}
        for binding in model.objects_of("RoleBinding") + model.objects_of("ClusterRoleBinding"):
            if not _binds(binding, sa, ns):
                continue
            if binding.kind == "RoleBinding" and (watch_ns is None or not may_share_namespace(ns_of(binding), watch_ns)):
                continue  # a RoleBinding grants only in its namespace; all-namespace watches need a ClusterRoleBinding
            ref = binding.doc.get("roleRef")
            if not isinstance(ref, dict):  # malformed (the schema rules report it): grants nothing
                continue
            for (kind, name, rns), role in roles.items():
                if kind == ref.get("kind") and name == ref.get("name") and (kind == "ClusterRole" or may_share_namespace(rns, ns_of(binding))):
                    verbs |= _pod_verbs(role)
        missing = [v for v in NEEDED if v not in verbs]
        if missing:
            scope = f"namespace {watch_ns}" if watch_ns else "all namespaces (no --service-discovery-namespace)"
            yield Problem(wl.obj, spath + ("serviceAccountName",) if "serviceAccountName" in spec else spath,
                          f"router {wl.name} watches pods in {scope} as ServiceAccount {sa}, but no Role/ClusterRole bound to it in the render grants {'/'.join(missing)} on pods",
                          f"add a Role (ClusterRole + ClusterRoleBinding for all namespaces) granting get, list, watch on pods and bind it to ServiceAccount {sa}")


RULE = Rule(
    id="router-sd-rbac", severity=Severity.ERROR,
    summary="Service-discovery router lacks a token or RBAC to watch pods",
    doc="""The discovery router builds a client from the pod's service account
(`Client::try_default`) and runs a kube-rs `watcher` on pods, namespaced when
`--service-discovery-namespace` is given, else cluster-wide (`Api::all`). That needs a mounted token
and `list` + `watch` on pods through a Role and RoleBinding in the watched namespace (a ClusterRole
and ClusterRoleBinding for all namespaces). Without them the watcher logs 403s and retries with
back-off while the router serves 503 with no worker.""",
    links=(L.SERVICE_DISCOVERY, "https://kubernetes.io/docs/reference/access-authn-authz/rbac/"),
    check=check,
)
