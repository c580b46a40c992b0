import posixpath

from ...findings import Severity
from ...model import Flag
from .. import _links as L
from .._ranks import describe_rank, rank_groups
from .._util import flag_path
from ..base import Problem, Rule

# Flags that may differ between the ranks of one group (SGLang 0.5.6.post2 semantics):
RANK_LOCAL = frozenset({
    # the rank's own index
    "--node-rank",
    # which of the node's own GPUs to use (entrypoints/engine.py: gpu_id = base_gpu_id + ... * gpu_id_step)
    "--base-gpu-id", "--gpu-id-step", "--enable-p2p-check",
    # node 0 serves the API on --host/--port; other nodes bind only a /health stub there
    # (entrypoints/engine.py launch_dummy_health_check_server); the store uses --dist-init-addr
    "--host", "--port", "--nccl-port",
    # read by node 0's HTTP server and tokenizer manager only
    "--api-key", "--admin-api-key", "--served-model-name",  # --admin-api-key: newer releases "--chat-template", "--completion-template",
    "--tool-call-parser", "--reasoning-parser", "--skip-server-warmup", "--warmups", "--file-storage-path",
    "--enable-cache-report", "--log-requests", "--log-requests-level", "--log-level-http",
    "--tokenizer-metrics-custom-labels-header", "--tokenizer-metrics-allowed-custom-labels",
    "--bucket-time-to-first-token", "--bucket-inter-token-latency", "--bucket-e2e-request-latency",
    "--prompt-tokens-buckets", "--generation-tokens-buckets", "--collect-tokens-histogram",
    # logging, metrics and tracing of each rank
    "--log-level", "--enable-metrics", "--enable-metrics-for-all-schedulers", "--show-time-cost",
    "--decode-log-interval", "--crash-dump-folder", "--enable-trace", "--otlp-traces-endpoint",
    "--export-metrics-to-file", "--export-metrics-to-file-dir", "--enable-request-time-stats-logging",
    "--watchdog-timeout",
})
# Compared by their own rules: dist-init-addr-rank-mismatch, bootstrap-port-rank-mismatch,
# rdma-devices-rank-drift.
OWN_RULE = frozenset({"--dist-init-addr", "--disaggregation-bootstrap-port", "--disaggregation-ib-device",
                      "--mooncake-ib-device"})
SHOWN = 4


def _build(image: str) -> str:
    """The tag or digest of an image reference (a registry mirror keeps it)."""
    if "@" in image:
        return image.split("@", 1)[1]
    name = image.rsplit("/", 1)[-1]
    return name.split(":", 1)[1] if ":" in name else "latest"


def _key(c, option: str):
    """What the program stores for the option, comparable across ranks; None: not comparable."""
    flag = c.flag(option)
    if flag.state == Flag.NO_OPTION:
        return None
    if flag.state == Flag.RUNTIME:  # compare as written after kubelet expansion ($(X), <secret:...>)
        return ("written", tuple(v for occ in c.parsed.occurrences(option) for v in occ.values))
    value = flag.value
    if isinstance(value, str) and value.startswith("/"):
        value = posixpath.normpath(value)  # /models/x/ and /models/x are one directory
    return ("value", repr(value))


def _show(c, option: str) -> str:
    flag = c.flag(option)
    if not flag.written:
        return "not set"
    if flag.state == Flag.RUNTIME:
        return " ".join(v for occ in c.parsed.occurrences(option) for v in occ.values)
    occ = c.parsed.occurrences(option)
    return " ".join(occ[-1].values) if occ and occ[-1].values else "set"


def _compared_options(a, b) -> list[str]:
    """The options written on either rank (one option string per dest), in the order written."""
    out, dests = [], set()
    for c in (a, b):
        for arg in c.parsed.args:
            if arg.option.dest in dests:
                continue
            dests.add(arg.option.dest)
            strings = set(arg.option.option_strings)
            if strings & (RANK_LOCAL | OWN_RULE):
                continue
            out.append(arg.option_string or arg.option.name)
    return out


def differences(a, b) -> list[str]:
    """Options whose values differ between two engine containers of one catalog."""
    return [o for o in _compared_options(a, b) if _key(a, o) is not None and _key(a, o) != _key(b, o)]


def check(model, ctx):
    for group in rank_groups(model):
        wl, lead = group.workload, group.leader.engine
        seen = set()
        for pod in group.others:
            c = pod.engine
            if pod.template_path in seen:
                continue
            if c.parsed.catalog.version != lead.parsed.catalog.version or _build(c.image) != _build(lead.image):
                seen.add(pod.template_path)
                yield Problem(wl.obj, c.path + ("image",),
                              f"{describe_rank(pod)} runs image {c.image} but the leader runs {lead.image}: "
                              f"the ranks of one engine must run the same SGLang build",
                              "use the same image on every rank (one pod template, or the same image in leaderTemplate and workerTemplate)")
                continue
            diffs = differences(lead, c)
            if not diffs:
                continue
            seen.add(pod.template_path)
            shown = ", ".join(f"{o} {_show(c, o)} (leader: {_show(lead, o)})" for o in diffs[:SHOWN])
            more = f" and {len(diffs) - SHOWN} more" if len(diffs) > SHOWN else ""
            yield Problem(wl.obj, flag_path(c, diffs[0]),
                          f"{describe_rank(pod)} runs its engine with other flags than the leader: {shown}{more}",
                          "give every rank the same engine flags (one pod template, or the same args in leaderTemplate and "
                          "workerTemplate); only --node-rank and node-0-only flags such as --host, --port, --api-key may differ")


RULE = Rule(
    id="rank-flag-drift",
    severity=Severity.ERROR,
    summary="Ranks of one multi-node engine run with different flags or images",
    doc="""Every node of a multi-node SGLang engine runs the same program with its own copy of the
arguments and derives its part from them: which TP/PP ranks and GPUs it runs (`engine.py`
`_launch_subprocesses`, from `--tp-size`, `--pp-size`, `--nnodes`, `--node-rank`), its ports (from
`--dist-init-addr`) and its memory pools. Only TP rank 0 receives requests; it broadcasts them to the
other ranks (`scheduler.py` `recv_requests`: "Receive results at tp_rank = 0 and broadcast it to all
other TP ranks"), and every rank then schedules on its own: they must take identical decisions,
so batch limits, memory fraction, page size, chunked prefill, CUDA graphs, attention and MoE
backends, quantization and the model must be the same on every rank, or the collectives of one
forward pass do not match and the group hangs or computes garbage. This rule compares each rank's
flags with the leader's (a separate `leaderTemplate` is where they drift), ignoring `--node-rank`,
the node-local GPU choice (`--base-gpu-id`, `--gpu-id-step`), flags only node 0 reads (`--host`,
`--port`, `--api-key`, `--served-model-name`, chat template, parsers, request logging) and
logging/metrics flags. `--dist-init-addr`, the bootstrap port and the RDMA device lists have their
own rules.""",
    links=(L.SG + "managers/scheduler.py", L.SG + "entrypoints/engine.py", L.SERVER_ARGS),
    check=check,
)
