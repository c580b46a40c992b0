from ...findings import Severity
from ...model import as_int
from .._util import describe_pod, engine_containers
from ..base import Problem, Rule
from ._helpers import definition_site

POOL = "SGLANG_DISAGGREGATION_THREAD_POOL_SIZE"
QUEUE = "SGLANG_DISAGGREGATION_QUEUE_SIZE"
QUEUE_DEFAULT = 4
POOL_DEFAULT_MAX = 12  # min(max(4, int(0.5 * os.cpu_count()) // 8), 12)
MOONCAKE_BACKENDS = ("mooncake", "mooncake_tcp")


def check(model, ctx):
    for wl, pod, c in engine_containers(model):
        if c.layout.role != "prefill":
            continue
        if c.flag("--disaggregation-transfer-backend").value not in MOONCAKE_BACKENDS:  # default mooncake (0.4.10-0.5.23)
            continue
        if (POOL in c.env and c.env[POOL].value is None) or (QUEUE in c.env and c.env[QUEUE].value is None):
            continue  # a value only known at run time
        pool = as_int(c.env_value(POOL)) if POOL in c.env else None
        queue = as_int(c.env_value(QUEUE)) if QUEUE in c.env else QUEUE_DEFAULT
        if queue is None or (POOL in c.env and pool is None):
            continue
        if pool is not None and pool < queue:
            obj, path = definition_site(model, wl, c, POOL, "value")
            yield Problem(obj, path,
                          f"{describe_pod(pod)}: {POOL}={pool} is below {QUEUE}={queue}, so the Mooncake KV sender asserts at start-up and the prefill engine exits",
                          f"set {POOL} to at least {queue} (a multiple of it: each of the {queue} queues gets {POOL} // {queue} threads)")
        elif pool is None and queue > POOL_DEFAULT_MAX:
            obj, path = definition_site(model, wl, c, QUEUE, "value")
            yield Problem(obj, path,
                          f"{describe_pod(pod)}: {QUEUE}={queue} exceeds the largest default {POOL} ({POOL_DEFAULT_MAX}), so the Mooncake KV sender asserts at start-up and the prefill engine exits",
                          f"set {POOL} to at least {queue}, or lower {QUEUE}")


RULE = Rule(
    id="mooncake-thread-pool-below-queue",
    severity=Severity.ERROR,
    summary="SGLANG_DISAGGREGATION_THREAD_POOL_SIZE below SGLANG_DISAGGREGATION_QUEUE_SIZE on a Mooncake prefill engine",
    doc="""The Mooncake KV manager of a prefill engine creates `SGLANG_DISAGGREGATION_QUEUE_SIZE`
transfer queues (default 4) and splits `SGLANG_DISAGGREGATION_THREAD_POOL_SIZE` threads among them
(default `min(max(4, cpu_count // 2 // 8), 12)`), after
`assert transfer_thread_pool_size >= transfer_queue_size`. A smaller pool fails that assertion when
the prefill scheduler starts: the engine exits, the pod restarts, and (with
`RecreateGroupOnPodRestart`) the whole group is recreated in a loop. Same code in 0.4.10.post2,
0.5.6.post2 (mooncake/conn.py:172-184) and 0.5.23 (mooncake/conn.py:326-339). Decode engines and
other transfer backends do not run this check. When only the queue size is set, the default pool
depends on the node's CPU count; only a queue size above 12 (the largest default) is reported.""",
    links=(
        "https://github.com/sgl-project/sglang/blob/v0.5.6.post2/python/sglang/srt/disaggregation/mooncake/conn.py#L172-L184",
    ),
    check=check,
)
