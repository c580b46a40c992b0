from ...findings import Severity
from .. import _links as L
from ..base import Rule
from ._helpers import compare


def check(model, ctx):
    yield from compare(model, "--disaggregation-transfer-backend",
                       lambda c: c.flag("--disaggregation-transfer-backend").value,
                       "the two sides speak different KV transfer protocols",
                       lambda p, d, pv, dv: f"set --disaggregation-transfer-backend {pv} on decode (or the same backend on both)")


RULE = Rule(
    id="pd-transfer-backend-mismatch", severity=Severity.ERROR,
    summary="Prefill and decode use different KV transfer backends",
    doc="""Prefill and decode each build their KV sender/receiver from their own
`--disaggregation-transfer-backend` (default mooncake; nixl, ascend, mori...) through
`get_kv_class`. A Mooncake receiver cannot talk to a NIXL sender: the bootstrap handshake or the
transfer fails and every request times out. Nothing checks the peer's backend.""",
    links=(L.SG + "disaggregation/utils.py", L.SERVER_ARGS),
    check=check,
)
