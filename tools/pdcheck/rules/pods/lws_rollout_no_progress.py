import re

from ...findings import Severity
from ...model import dig
from ..base import Problem, Rule

PERCENT = re.compile(r"^0*(\d{1,3})%$")
PATH = ("spec", "rolloutStrategy", "rollingUpdateConfiguration")


def _scaled(value, replicas: int, round_up: bool) -> int | None:
    """intstr.GetScaledValueFromIntOrPercent: percentages of replicas, rounded down or up."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        m = PERCENT.match(value.strip())
        if m:
            scaled = int(m.group(1)) * replicas  # integer arithmetic: replicas may be too large for a float
            return -(-scaled // 100) if round_up else scaled // 100
    return None


def check(model, ctx):
    for wl in model.workloads:
        if not wl.is_lws:
            continue
        config = dig(wl.obj.doc, *PATH)
        if not isinstance(config, dict) or wl.replicas == 0:
            continue  # defaults: maxUnavailable 1, maxSurge 0
        unavailable_raw = config.get("maxUnavailable", 1)
        surge_raw = config.get("maxSurge", 0)
        unavailable = _scaled(unavailable_raw, wl.replicas, False)
        surge = _scaled(surge_raw, wl.replicas, True)
        if unavailable == 0 and surge == 0:
            shown = f"maxUnavailable {unavailable_raw!r} and maxSurge {surge_raw!r}"
            yield Problem(wl.obj, PATH + ("maxUnavailable",),
                          f"{wl.name}: {shown} both come to 0 groups for {wl.replicas} replica(s), which the LWS webhook rejects (a rollout could never replace a group)",
                          "set maxUnavailable to at least 1 (or maxSurge to at least 1 if spare GPUs exist for an extra group)")


RULE = Rule(
    id="lws-rollout-no-progress",
    severity=Severity.ERROR,
    summary="LWS rolling update with maxUnavailable and maxSurge both 0",
    doc="""A rolling update must be allowed either to take a group down (`maxUnavailable`) or to add
one (`maxSurge`); with both 0 it could never replace anything. The LWS webhook scales both against
`replicas` like Deployments do (percentages: maxUnavailable rounded down, maxSurge rounded up) and
rejects the object when both are 0 (`must not be 0 when maxSurge is 0`), so `kubectl apply` fails;
note `maxUnavailable: 10%` is 0 for fewer than 10 replicas. The schema check cannot express this
cross-field rule.""",
    links=(
        "https://github.com/kubernetes-sigs/lws/blob/v0.7.0/pkg/webhooks/leaderworkerset_webhook.go",
    ),
    check=check,
)
