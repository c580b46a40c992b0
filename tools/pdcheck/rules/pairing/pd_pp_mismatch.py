from ...findings import Severity
from .. import _links as L
from .._router import leader_engine
from .._util import flag_path
from ..base import Problem, Rule
from ._helpers import pd_pairs


def check(model, ctx):
    for p, d in pd_pairs(model):
        pp, dp = leader_engine(p).int_flag("--pp-size"), leader_engine(d).int_flag("--pp-size")
        if pp is None or dp is None or dp == pp or dp == 1:
            continue
        yield Problem(d.obj, flag_path(leader_engine(d), "--pp-size"),
                      f"decode {d.name} has --pp-size {dp} but prefill {p.name} has {pp}: decode's pp must equal prefill's or be 1",
                      f"set --pp-size {pp} or 1 on decode")


RULE = Rule(
    id="pd-pp-mismatch", severity=Severity.ERROR,
    summary="Decode pipeline-parallel size is neither prefill's nor 1",
    doc="""The KV receiver maps prefill's pipeline stages onto decode's and asserts `Decode pp size
should be equal to prefill pp size or 1` (CommonKVReceiver in disaggregation/common/conn.py). The
assert fires on decode's first request, not at start-up, so the deployment looks healthy until it
serves traffic.""",
    links=(L.CONN,),
    check=check,
)
