from ...findings import Severity
from .. import _links as L
from .._router import multi_replica_urls, url_path
from ..base import Problem, Rule


def check(model, ctx):
    for wl, c, ru, engine in multi_replica_urls(model, "prefill"):
        yield Problem(wl.obj, url_path(c, ru),
                      f"--prefill {ru.url} reaches {engine.name} ({engine.replicas} replicas) through one Service, so decode's bootstrap connection to {ru.host} can land on another prefill replica than the one serving the request",
                      "use --service-discovery with a leader-only --prefill-selector (each prefill leader becomes its own worker, bootstrap_host = its pod IP), or one Service and one --prefill URL per replica (selector with leaderworkerset.sigs.k8s.io/group-index)")


RULE = Rule(
    id="router-static-multi-replica-prefill", severity=Severity.ERROR,
    summary="Static --prefill URL load-balanced over several prefill replicas",
    doc="""The router pairs a request with a prefill *URL* and tells decode to fetch the KV cache
from `bootstrap_host` = that URL's host (docs/router-e2e.md). With a ClusterIP Service over the
from .. import _links as L
from .._router import multi_replica_urls, url_path
leaders of N prefill groups, the request and decode's bootstrap connection are load-balanced
independently per connection: decode asks a prefill that never saw this `bootstrap_room`, the
transfer never completes and the request times out (sglang#11747, #9266). Service discovery
registers each leader as `http://<podIP>:<port>`, so host and request go to the same pod.""",
    links=(L.SERVICE_DISCOVERY, L.SG + "disaggregation/decode.py", L.ISSUE + "11747"),
    check=check,
)
