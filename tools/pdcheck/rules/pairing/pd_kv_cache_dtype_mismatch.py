from ...findings import Severity
from .. import _links as L
from ..base import Rule
from ._helpers import compare

ALIASES = {"bfloat16": "bf16"}


def _dtype(c):
    value = c.flag("--kv-cache-dtype").value
    return ALIASES.get(value, value) if isinstance(value, str) else None


def check(model, ctx):
    yield from compare(model, "--kv-cache-dtype", _dtype,
                       "the KV bytes prefill sends are read as another dtype (0.5.23: RuntimeError 'KV cache dtype mismatch')",
                       lambda p, d, pv, dv: f"set --kv-cache-dtype {pv} on decode (the same on both sides)")


RULE = Rule(
    id="pd-kv-cache-dtype-mismatch", severity=Severity.ERROR,
    summary="Prefill and decode use different --kv-cache-dtype",
    doc="""KV pages are copied byte for byte between prefill and decode, so both pools must hold the
same element type. An fp8 prefill with a bf16 decode (or `auto`, the model dtype) yields item sizes
that do not match: transfers fail or decode reads garbage. 0.5.23 checks it when decode fetches
prefill's server info (`KV cache dtype mismatch`, conn.py); 0.5.6 does not check at all.""",
    links=(L.CONN_23, L.CONN),
    check=check,
)
