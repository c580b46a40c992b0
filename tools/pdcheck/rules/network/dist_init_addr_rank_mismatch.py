from ...findings import Severity
from ...model import known_at_render
from .._util import describe_pod, flag_path
from ..base import Problem, Rule
from ._helpers import split_addr


def check(model, ctx):
    for wl in model.workloads:
        leader = wl.leader
        if not wl.is_lws or leader is None or leader.engine is None:
            continue
        lead = leader.engine.flag("--dist-init-addr").value
        if not known_at_render(lead):
            continue
        lead_host, lead_port = split_addr(lead)
        seen = {leader.template_path}
        for pod in wl.workers:
            c = pod.engine
            if c is None or pod.template_path in seen:
                continue
            seen.add(pod.template_path)
            addr = c.flag("--dist-init-addr").value
            if not known_at_render(addr):
                continue
            host, port = split_addr(addr)
            if port != lead_port or host != lead_host:
                what = f"port {port} while the leader listens on {lead_port}" if port != lead_port else f"host {host} while the leader uses {lead_host}"
                yield Problem(wl.obj, flag_path(c, "--dist-init-addr"),
                              f"{describe_pod(pod)} rendezvous at --dist-init-addr {addr} ({what}), so they never join the leader's torch.distributed store",
                              f"use the leader's --dist-init-addr {lead} (e.g. $({wl.group_env['leader_address']}):{lead_port}) in every template of {wl.name}")


RULE = Rule(
    id="dist-init-addr-rank-mismatch",
    severity=Severity.ERROR,
    summary="Workers of a group rendezvous at another --dist-init-addr than the leader",
    doc="""All ranks of a multi-node SGLang group initialise torch.distributed with
`init_method=tcp://<--dist-init-addr>` (model_runner.py); node 0 hosts the TCP store on that port and
the DP-attention ZMQ ports derived from it (PortArgs.init_new, data_parallel_controller.py). Workers
pointing at another host or port wait for a store nobody serves: the group hangs at distributed init
until the timeout, and LWS restarts the whole group again and again.""",
    links=(
        "https://github.com/sgl-project/sglang/blob/v0.5.6.post2/python/sglang/srt/model_executor/model_runner.py",
        "https://github.com/sgl-project/sglang/blob/v0.5.6.post2/python/sglang/srt/server_args.py",
    ),
    check=check,
)
