"""Availability rules: each case is one defect (or a near miss) applied to the clean baseline, and
the exact set of rules it fires."""

from ruletest import defect_tests, engine, find


def router(d):
    return engine(d, "r1-router")


def replicas(d, n):
    dep = find(d, "Deployment", "r1-router")
    if n is None:
        dep["spec"].pop("replicas")
    else:
        dep["spec"]["replicas"] = n


def hpa(d, min_replicas):
    replicas(d, None)
    d.append({"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": {"name": "r1-router"},
              "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "r1-router"},
                       "minReplicas": min_replicas, "maxReplicas": 4,
                       "metrics": [{"type": "Resource", "resource": {
                           "name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}}}]}})


def drop_pdb(d):
    d.remove(find(d, "PodDisruptionBudget", "r1-router"))


def pdb_selector(d, selector):
    find(d, "PodDisruptionBudget", "r1-router")["spec"]["selector"] = selector


def router_resources(d, resources):
    router(d)["resources"] = resources


def namespaced(d, namespace="serving"):
    """Every namespaced object of the baseline in `namespace`."""
    for doc in d:
        if doc["kind"] not in ("ClusterRole", "ClusterRoleBinding", "Namespace"):
            doc["metadata"]["namespace"] = namespace


def pdb_namespace(d, namespace):
    namespaced(d)
    pdb = find(d, "PodDisruptionBudget", "r1-router")
    if namespace is None:
        pdb["metadata"].pop("namespace")
    else:
        pdb["metadata"]["namespace"] = namespace


CASES = [
    ("router-one-replica", lambda d: replicas(d, 1), {"router-single-replica"}),
    ("router-replicas-unset", lambda d: replicas(d, None), {"router-single-replica"}),
    ("router-hpa-min-1", lambda d: hpa(d, 1), {"router-single-replica"}),
    ("near-miss:router-hpa-min-2", lambda d: hpa(d, 2), set()),

    ("router-no-pdb", drop_pdb, {"router-no-pdb"}),
    ("pdb-selects-other-pods", lambda d: pdb_selector(d, {"matchLabels": {"app.kubernetes.io/component": "decode"}}),
     {"router-no-pdb"}),
    ("pdb-expression-excludes", lambda d: pdb_selector(d, {"matchExpressions": [
        {"key": "app.kubernetes.io/component", "operator": "NotIn", "values": ["router"]}]}), {"router-no-pdb"}),
    ("near-miss:pdb-expression", lambda d: pdb_selector(d, {"matchExpressions": [
        {"key": "app.kubernetes.io/component", "operator": "In", "values": ["router", "gateway"]}]}), set()),

    ("pdb-other-namespace", lambda d: pdb_namespace(d, "other"), {"router-no-pdb"}),
    # A PDB without a namespace is applied to one that may be the router's: it may cover it.
    ("near-miss:pdb-namespace-unset", lambda d: pdb_namespace(d, None), set()),
    ("near-miss:all-namespaced", namespaced, set()),

    ("router-no-resources", lambda d: router(d).pop("resources"), {"router-resources-missing"}),
    # the API server copies a limit into the missing request
    ("near-miss:router-limits-only", lambda d: router_resources(d, {"limits": {"cpu": "2", "memory": "4Gi"}}), set()),
    ("router-cpu-limit-only", lambda d: router_resources(d, {"limits": {"cpu": "2"}}), {"router-resources-missing"}),
    ("router-no-memory-request", lambda d: router_resources(d, {"requests": {"cpu": "2"}}), {"router-resources-missing"}),
    ("near-miss:router-requests-only", lambda d: router_resources(d, {"requests": {"cpu": "1", "memory": "1Gi"}}), set()),
]


test_baseline_is_clean, test_defect_fires_its_rule_only = defect_tests(CASES)
