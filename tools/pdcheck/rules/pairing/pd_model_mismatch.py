from ...findings import Severity
from ...model import known_at_render
from .. import _links as L
from .._router import leader_engine
from .._util import flag_path
from ..base import Problem, Rule
from ._helpers import pd_pairs


def served_name(c, model_path):
    """--served-model-name when written (None when only known at run time), else the model path."""
    served = c.flag("--served-model-name")
    return served.value if served.written else model_path


def check(model, ctx):
    for p, d in pd_pairs(model):
        pc, dc = leader_engine(p), leader_engine(d)
        pm, dm = pc.flag("--model-path").value, dc.flag("--model-path").value
        if known_at_render(pm) and known_at_render(dm) and pm != dm:
            yield Problem(d.obj, flag_path(dc, "--model-path"),
                          f"decode {d.name} serves --model-path {dm} but prefill {p.name} serves {pm}: decode would continue another model's KV cache",
                          f"use --model-path {pm} on decode (the same checkpoint on both)")
            continue
        pn, dn = (served_name(c, path) for c, path in ((pc, pm), (dc, dm)))
        if known_at_render(pn) and known_at_render(dn) and pn != dn:
            yield Problem(d.obj, flag_path(dc, "--served-model-name"),
                          f"decode {d.name} reports model name {dn} but prefill {p.name} reports {pn}",
                          f"set the same --served-model-name ({pn}) on prefill and decode")


RULE = Rule(
    id="pd-model-mismatch", severity=Severity.ERROR,
    summary="Prefill and decode serve different models",
    doc="""Decode continues generation from the KV cache prefill computed; it has to be the same
checkpoint (layer count, heads, head dim and weights). Different `--model-path`s either fail the
transfer (buffer sizes differ) or, worse, produce garbage from another model's KV. The router and
clients also see the model name both report (`--served-model-name`, else the model path) in
`/v1/models` and responses; differing names make model-based routing pick one side only.""",
    links=(L.CONN, L.SERVER_ARGS),
    check=check,
)
