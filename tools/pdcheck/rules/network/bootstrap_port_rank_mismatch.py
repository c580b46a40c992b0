from ...findings import Severity
from .._util import describe_pod, flag_path
from ..base import Problem, Rule


def check(model, ctx):
    for wl in model.engines_by_role("prefill"):
        leader = wl.leader
        if not wl.is_lws or leader is None or leader.engine is None:
            continue
        lead_port = leader.engine.flag("--disaggregation-bootstrap-port").value
        if lead_port is None:
            continue
        seen = {leader.template_path}
        for pod in wl.workers:
            c = pod.engine
            if c is None or pod.template_path in seen:
                continue
            seen.add(pod.template_path)
            port = c.flag("--disaggregation-bootstrap-port").value
            if port is not None and port != lead_port:
                yield Problem(wl.obj, flag_path(c, "--disaggregation-bootstrap-port"),
                              f"{describe_pod(pod)} use bootstrap port {port} but the leader serves the bootstrap server on {lead_port}, so the workers' KV senders cannot register with it",
                              f"set --disaggregation-bootstrap-port {lead_port} in every template of {wl.name} (one value for the whole prefill group)")


RULE = Rule(
    id="bootstrap-port-rank-mismatch",
    severity=Severity.ERROR,
    summary="Prefill workers use another bootstrap port than their leader",
    doc="""Only node 0 of a prefill group runs the bootstrap server (in its tokenizer manager, on
`--disaggregation-bootstrap-port`). Every prefill rank, on every node, registers its KV sender with
it by `PUT http://<dist-init host>:<its own --disaggregation-bootstrap-port>/route`
(`CommonKVManager._register_to_bootstrap`). A worker template with another bootstrap port registers
nowhere: decode never learns those ranks and KV transfers for their DP ranks fail or time out
(per-node bootstrap port confusion: sglang#24378, sglang#10001).""",
    links=(
        "https://github.com/sgl-project/sglang/blob/v0.5.6.post2/python/sglang/srt/disaggregation/common/conn.py",
        "https://github.com/sgl-project/sglang/blob/v0.5.6.post2/python/sglang/srt/managers/disagg_service.py",
        "https://github.com/sgl-project/sglang/issues/24378",
        "https://github.com/sgl-project/sglang/issues/10001",
    ),
    check=check,
)
