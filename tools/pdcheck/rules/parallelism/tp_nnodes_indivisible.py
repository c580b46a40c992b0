from ...findings import Severity
from ...sglang import SRC_0523, SRC_056
from .._util import describe_pod, engine_containers, flag_path
from ..base import Problem, Rule


def check(model, ctx):
    for wl, pod, c in engine_containers(model):
        lay = c.layout
        if not all(isinstance(v, int) and v > 0 for v in (lay.tp, lay.pp, lay.nnodes)):
            continue
        if (lay.tp * lay.pp) % lay.nnodes:
            pp_text = f" x pp {lay.pp}" if lay.pp != 1 else ""
            yield Problem(wl.obj, flag_path(c, "--tp-size"),
                          f"{describe_pod(pod)}: tp {lay.tp}{pp_text} = {lay.tp * lay.pp} ranks cannot be split evenly over nnodes {lay.nnodes}, so SGLang exits with 'tp_size must be divisible by number of nodes'",
                          f"make --tp-size x --pp-size a multiple of --nnodes ({lay.nnodes}), e.g. nnodes x GPUs per pod")


RULE = Rule(
    id="tp-nnodes-indivisible",
    severity=Severity.ERROR,
    summary="tp x pp is not divisible by nnodes",
    doc="""SGLang puts `tp_size * pp_size / nnodes` ranks on every node and asserts in
`check_server_args` that the product divides evenly (`tp_size must be divisible by number of
nodes`, unchanged from 0.4.10 to 0.5.23's `arg_groups/validation_hook.py`). Every rank of the LWS
group fails at start-up, so the whole group crash-loops before loading a weight. When the GPU
count per pod is known `tp-gpu-mismatch` checks the exact product; this rule also catches the case
without a GPU limit.""",
    links=(
        SRC_056 + "server_args.py",
        SRC_0523 + "arg_groups/validation_hook.py",
    ),
    check=check,
)
