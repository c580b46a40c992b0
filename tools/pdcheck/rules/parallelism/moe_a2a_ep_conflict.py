from ...findings import Severity
from ...sglang import SRC_0523, SRC_056, a2a_backend
from .._util import describe_pod, engine_containers, flag_path
from ..base import Problem, Rule


def check(model, ctx):
    for wl, pod, c in engine_containers(model):
        backend, forced = a2a_backend(c)
        if not forced or not c.flag("--ep-size").written:
            continue
        ep, tp = c.int_flag("--ep-size"), c.layout.tp
        if ep is None or tp is None or ep == tp:
            continue
        written = c.parsed.occurrences("--ep-size")[-1].written.split("=", 1)[0]
        yield Problem(wl.obj, flag_path(c, "--ep-size"),
                      f"{describe_pod(pod)}: {written} {ep} is ignored: --moe-a2a-backend {backend} makes SGLang {c.parsed.catalog.version} use ep_size = tp_size = {tp}",
                      f"drop the --ep-size/--ep flag (or set it to {tp}) so the manifest states the expert layout that really runs")


RULE = Rule(
    id="moe-a2a-ep-conflict",
    severity=Severity.WARNING,
    summary="Explicit --ep-size that the all-to-all MoE backend overrides",
    doc="""The DeepEP and Mooncake all-to-all MoE backends spread experts over the whole TP group:
SGLang overwrites `ep_size` with `tp_size` when `--moe-a2a-backend` is `deepep` or `mooncake`
(0.5.6 `_handle_a2a_moe`; 0.5.23 `_a2a_ep_size` over a longer list of EP-spanning backends) and
only logs it. An explicit `--ep-size`/`--ep` that differs is silently ignored, so capacity
planning, `--ep-num-redundant-experts` and expert-placement files sized for the written value are
wrong. `--ep` works as a declared alias of `--ep-size`.""",
    links=(
        SRC_056 + "server_args.py",
        SRC_0523 + "arg_groups/overrides.py",
    ),
    check=check,
)
