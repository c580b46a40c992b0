from ...findings import Severity
from .._util import flag_path, flag_value, known
from ..base import Problem, Rule
from ..router import _links as L
from ..router._helpers import leader_engine
from ._helpers import pd_pairs


def check(model, ctx):
    for p, d in pd_pairs(model):
        pc, dc = leader_engine(p), leader_engine(d)
        pm, dm = flag_value(pc, "--model-path"), flag_value(dc, "--model-path")
        if known(pm) and known(dm) and pm != dm:
            yield Problem(d.obj, flag_path(dc, "--model-path"),
                          f"decode {d.name} serves --model-path {dm} but prefill {p.name} serves {pm}: decode would continue another model's KV cache",
                          f"use --model-path {pm} on decode (the same checkpoint on both)")
            continue
        pn, dn = flag_value(pc, "--served-model-name") or pm, flag_value(dc, "--served-model-name") or dm
        if known(pn) and known(dn) and pn != dn:
            yield Problem(d.obj, flag_path(dc, "--served-model-name"),
                          f"decode {d.name} reports model name {dn} but prefill {p.name} reports {pn}",
                          f"set the same --served-model-name ({pn}) on prefill and decode")


RULE = Rule(
    id="pd-model-mismatch", category="pairing", severity=Severity.ERROR,
    summary="Prefill and decode serve different models",
    doc="""Decode continues generation from the KV cache prefill computed; it has to be the same
checkpoint (layer count, heads, head dim and weights). Different `--model-path`s either fail the
transfer (buffer sizes differ) or, worse, produce garbage from another model's KV. The router and
clients also see the model name both report (`--served-model-name`, else the model path) in
`/v1/models` and responses; differing names make model-based routing pick one side only.""",
    links=(L.CONN, L.SERVER_ARGS),
    check=check,
)
