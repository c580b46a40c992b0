import re

from ...findings import Severity
from ..base import Problem, Rule

DNS1035 = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
LABEL_MAX = 63
REVISION_SUFFIX = 11  # "-" + up to 10 characters of the StatefulSet controller revision hash


def max_name_length(size: int, replicas: int) -> int:
    """Longest LWS name whose StatefulSets still get valid controller-revision-hash labels.

    Leader StatefulSet: `<lws>`; worker StatefulSet of group g: `<lws>-<g>` (the leader pod's name).
    The StatefulSet controller labels pods `controller-revision-hash: <sts>-<hash>` (<= 63).
    """
    longest = 0
    if size > 1:
        longest = 1 + len(str(max(replicas, 1) - 1))
    return LABEL_MAX - REVISION_SUFFIX - longest


def check(model, ctx):
    for wl in model.workloads:
        if not wl.runs_on_lws or not wl.name:
            continue
        name = wl.name
        if not DNS1035.match(name):
            yield Problem(wl.obj, ("metadata", "name"),
                          f"LeaderWorkerSet name {name!r} is not a DNS-1035 label (lower-case letters, digits and '-', starting with a letter, ending with a letter or digit), so the LWS webhook rejects it",
                          "rename it, e.g. " + repr(re.sub(r"[^a-z0-9-]", "-", name.lower()).strip("-").lstrip("0123456789-") or "sglang"))
            continue
        limit = max_name_length(wl.size, wl.replicas)
        if len(name) > limit:
            yield Problem(wl.obj, ("metadata", "name"),
                          f"LeaderWorkerSet name {name!r} has {len(name)} characters; with size {wl.size} and {wl.replicas} replica(s) its StatefulSets get controller-revision-hash labels longer than 63 characters, so no pod can be created (max {limit})",
                          f"shorten the name to at most {limit} characters")


RULE = Rule(
    id="lws-name-invalid",
    severity=Severity.ERROR,
    summary="LeaderWorkerSet name that is not a DNS-1035 label or too long for its StatefulSets",
    doc="""The LWS webhook validates the name as a DNS-1035 label (it names the headless Service),
so `my_lws` or `R1-prefill` is rejected at apply. A valid but long name fails later: LWS creates a
leader StatefulSet named `<lws>` and, for each group, a worker StatefulSet named after the leader
pod, `<lws>-<group>`; the StatefulSet controller labels every pod
`controller-revision-hash: <statefulset>-<hash>` with a hash of up to 10 characters, and a label value
over 63 characters makes pod creation fail (kubernetes#64023, still open). So the name may have at
most 52 characters for `size: 1`, and `52 - 1 - digits(replicas - 1)` (50 for one replica) when
the group has workers; the pod names (`<lws>-<g>-<i>`) stay within 63 then too.""",
    links=(
        "https://github.com/kubernetes-sigs/lws/blob/v0.7.0/pkg/webhooks/leaderworkerset_webhook.go",
        "https://github.com/kubernetes-sigs/lws/blob/v0.7.0/pkg/controllers/pod_controller.go",
        "https://github.com/kubernetes/kubernetes/issues/64023",
    ),
    check=check,
)
