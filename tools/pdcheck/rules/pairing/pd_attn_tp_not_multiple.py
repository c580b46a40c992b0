from ...findings import Severity
from .. import _links as L
from .._router import leader_engine
from .._util import flag_path
from ..base import Problem, Rule
from ._helpers import attn_tp, pd_pairs


def check(model, ctx):
    for p, d in pd_pairs(model):
        pt, dt = attn_tp(leader_engine(p)), attn_tp(leader_engine(d))
        if pt is None or dt is None or max(pt, dt) % min(pt, dt) == 0:
            continue
        yield Problem(d.obj, flag_path(leader_engine(d), "--tp-size"),
                      f"decode {d.name} has attention TP {dt} and prefill {p.name} {pt}; neither is a multiple of the other, so KV heads cannot be mapped between their ranks",
                      "choose tp / attention-DP sizes so one side's attention TP divides the other's (e.g. equal)")


RULE = Rule(
    id="pd-attn-tp-not-multiple", severity=Severity.ERROR,
    summary="Prefill and decode attention-TP sizes are not multiples of each other",
    doc="""Each decode rank pulls its KV heads from prefill ranks computed from the two attention-TP
sizes (tp, or tp / dp under DP attention): `engine_rank % attn_tp // (decode_attn_tp //
prefill_attn_tp)` or the reverse range (CommonKVReceiver in conn.py). Those integer divisions only
cover every head when one size is a multiple of the other (`validate_disagg_tp_size` in
server_args.py states the same rule); otherwise ranks fetch the wrong heads or wait forever
(sglang#15674, llm-d#2433).""",
    links=(L.CONN, L.SERVER_ARGS, L.ISSUE + "15674"),
    check=check,
)
