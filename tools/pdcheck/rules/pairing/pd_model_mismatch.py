from ...findings import Severity
from ...model import known_at_render
from .. import _links as L
from .._k8s import mounted_source
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
        ps, ds = mounted_source(p.leader, pc, pm), mounted_source(d.leader, dc, dm)
        if ps is not None and ds is not None:
            # both read from a volume (or the image) pdcheck can follow: compare what they read
            if ps != ds and ps.leaf != ds.leaf:
                yield Problem(d.obj, flag_path(dc, "--model-path"),
                              f"decode {d.name} reads --model-path {dm} from {ds.text} but prefill {p.name} reads {pm} from {ps.text}: "
                              f"different checkpoints, so decode would continue another model's KV cache",
                              "mount the same checkpoint on prefill and decode")
                continue
        elif known_at_render(pm) and known_at_render(dm) and pm != dm:
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
transfer (buffer sizes differ) or, worse, produce garbage from another model's KV. An absolute model
path is followed through `volumeMounts` to what each side reads (hostPath path, PVC claim and
subPath, image volume, or the container image itself): the same path on volumes holding different
checkpoint directories is reported, and different paths onto one checkpoint are not; copies on
different volumes with the same directory name are taken to be the same checkpoint. The router and
clients also see the model name both report (`--served-model-name`, else the model path) in
`/v1/models` and responses; differing names make model-based routing pick one side only.""",
    links=(L.CONN, L.SERVER_ARGS),
    check=check,
)
