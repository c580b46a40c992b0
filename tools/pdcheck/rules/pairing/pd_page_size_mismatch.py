from ...findings import Severity
from .. import _links as L
from ..base import Rule
from ._helpers import compare


def check(model, ctx):
    # only explicit values: attention backends pick page sizes of their own when it is unset
    yield from compare(model, "--page-size",
                       lambda c: c.int_flag("--page-size") if c.flag("--page-size").written else None,
                       "KV pages are transferred by index, so decode reads the wrong tokens (0.5.6: silently; 0.5.23: RuntimeError 'Page size mismatch')",
                       lambda p, d, pv, dv: f"set --page-size {pv} on both prefill and decode")


RULE = Rule(
    id="pd-page-size-mismatch", severity=Severity.ERROR,
    summary="Prefill and decode use different --page-size",
    doc="""The KV transfer sends page indices: prefill's pages of `page_size` tokens are written into
decode's pages one to one. With different page sizes the copied KV is misaligned and decode
generates garbage without any error in 0.5.6 (sglang#14474); since #14474 (0.5.23 `conn.py`) decode
raises `Page size mismatch` when it fetches prefill's server info. Only explicit values are compared
because some attention backends choose the page size when the flag is unset.""",
    links=(L.CONN_23, L.ISSUE + "14474"),
    check=check,
)
