from ...findings import Severity
from .. import _links as L
from .._router import multi_replica_urls, url_path
from ..base import Problem, Rule


def check(model, ctx):
    for wl, c, ru, engine in multi_replica_urls(model, "decode"):
        yield Problem(wl.obj, url_path(c, ru),
                      f"--decode {ru.url} reaches {engine.name} ({engine.replicas} replicas) through one Service, so the router sees one decode worker and kube-proxy balances per connection, not per request",
                      "use --service-discovery with a leader-only --decode-selector so the router balances over each decode leader")


RULE = Rule(
    id="router-static-multi-replica-decode", severity=Severity.WARNING,
    summary="Static --decode URL load-balanced over several decode replicas",
    doc="""A decode replica that receives a request fetches its KV cache itself, so a Service over
several decode groups still works, but the router's policies (cache-aware, power-of-two, queue
lengths) see one worker, and kube-proxy picks a replica per TCP connection: the router's pooled
keep-alive connections pin most traffic to a few replicas while others idle. Service discovery
registers every decode leader as its own worker.""",
    links=(L.SERVICE_DISCOVERY, L.K8S_SERVICE),
    check=check,
)
