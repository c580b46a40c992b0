from ...catalog import version_key
from ...findings import Severity
from ...model import DYNAMO_WORKER
from .._util import describe_pod, flag_path
from ..base import Problem, Rule
from ._helpers import is_loopback


def check(model, ctx):
    for wl in model.workloads:
        role = wl.role
        leader = wl.leader
        if role not in ("prefill", "decode") or leader is None or leader.engine is None:
            continue
        c = leader.engine
        host = c.flag("--host").value
        if not isinstance(host, str) or not is_loopback(host):
            continue
        written = "" if c.flag("--host").written else " (the default)"
        bootstrap = (role == "prefill" and version_key(c.parsed.catalog.version) >= version_key("0.5.6.post2"))
        if c.launcher == DYNAMO_WORKER and not bootstrap:
            continue  # Dynamo's worker starts no SGLang HTTP server: only a prefill's bootstrap server listens on --host
        what = "its HTTP server and bootstrap server" if bootstrap else "its HTTP server"
        who = "the router, probes, decode and its own workers" if bootstrap else "the router and probes"
        yield Problem(wl.obj, flag_path(c, "--host"),
                      f"{describe_pod(leader)} binds {what} to --host {host}{written}, which {who} cannot reach from outside the pod",
                      "pass --host 0.0.0.0 (or :: for IPv6, or $(POD_IP) from fieldRef status.podIP)")


RULE = Rule(
    id="engine-host-loopback",
    severity=Severity.ERROR,
    summary="A prefill/decode leader listens on a loopback --host",
    doc="""SGLang's `--host` defaults to 127.0.0.1. The HTTP server binds to it (uvicorn in
entrypoints/http_server.py), so the router, Services and kubelet probes (which connect to the pod
IP) get connection refused. From 0.5.x the prefill bootstrap server binds to `--host` too
(`start_disagg_service` passes `host=server_args.host`, `CommonKVBootstrapServer` starts
`web.TCPSite(host=self.host)`; 0.4.10 bound all interfaces): decode's `GET /route` and the prefill
workers' registration fail, and every request ends in a bootstrap timeout.""",
    links=(
        "https://github.com/sgl-project/sglang/blob/v0.5.6.post2/python/sglang/srt/managers/disagg_service.py",
        "https://github.com/sgl-project/sglang/blob/v0.5.6.post2/python/sglang/srt/disaggregation/common/conn.py",
        "https://github.com/sgl-project/sglang/blob/v0.5.6.post2/python/sglang/srt/entrypoints/http_server.py",
    ),
    check=check,
)
