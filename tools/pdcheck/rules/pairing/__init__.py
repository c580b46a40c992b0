"""Prefill/decode pairing rules: what both roles must agree on."""

MODULES = (
    "pd_role_mismatch",
    "pd_transfer_backend_mismatch",
    "pd_model_mismatch",
    "pd_page_size_mismatch",
    "pd_kv_cache_dtype_mismatch",
    "pd_attn_tp_not_multiple",
    "pd_pp_mismatch",
    "pd_dp_round_robin",
)
