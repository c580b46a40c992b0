"""Parallelism rules: tp/dp/pp/ep against nodes, GPUs and each other."""

MODULES = (
    "tp_gpu_mismatch",
    "tp_nnodes_indivisible",
    "lws_size_nnodes",
    "node_rank_collision",
    "rank_flag_drift",
    "rank_model_source_drift",
    "multinode_dp_without_dp_attention",
    "dp_replicas_with_attn_dp",
    "tp_dp_indivisible",
    "dp_lm_head_without_dp_attention",
    "chunked_prefill_page_size",
    "moe_a2a_ep_conflict",
    "ep_experts_indivisible",
    "max_running_requests_below_dp",
    "cuda_graph_max_bs_below_running",
    "cuda_graph_max_bs_above_running",
)
