"""Capacity rules: will the weights fit, and can the KV pool hold what the flags promise (docs/capacity.md)."""

MODULES = (
    "weights_exceed_static_budget",
    "kv_pool_below_running_requests",
    "prefill_tokens_exceed_kv_pool",
    "capacity_plan_unavailable",
)
