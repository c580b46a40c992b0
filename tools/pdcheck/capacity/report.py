"""`pdcheck plan` output: a table per input (text) or stable JSON (keys documented in docs/capacity.md)."""

from __future__ import annotations

from .plan import RolePlan

JSON_VERSION = 1


def plan_dict(rp: RolePlan) -> dict:
    out = {"workload": rp.workload.obj.ref, "role": rp.role, "plan": None, "reasons": list(rp.reasons)}
    p = rp.plan
    if p is None:
        return out
    lay = p.layout
    out["plan"] = {
        "gpu": p.gpu.name,
        "gpu_memory_gib": round(p.gpu.memory_gib, 2),
        "model": p.model.name,
        "mem_fraction_static": p.mem_fraction_static,
        "static_budget_gib": round(p.pool.budget_gib, 2),
        "weights_gib_per_gpu": round(p.weights_gib_per_gpu, 2),
        "kv_bytes_per_token": p.kv_bytes_per_token,
        "kv_pool_gib": round(p.kv_pool_gib, 2),
        "kv_tokens_per_rank": p.kv_tokens_per_rank,
        "full_context_requests_per_rank": p.full_context_requests_per_rank,
        "running_requests_per_rank": p.running_requests_per_rank,
        "prefill_tokens_per_rank": p.prefill_tokens_per_rank,
        "headroom_gib": round(p.headroom_gib, 2),
        "weights_fit": p.weights_fit,
        "inputs": {
            "gpu_source": p.gpu_source,
            "model_source": p.model_source,
            "model_facts_source": p.model.source,
            "mem_fraction_static_source": p.mem_fraction_source,
            "tp": lay.tp, "pp": lay.pp, "attention_dp": lay.attn_dp, "attention_tp": lay.attn_tp,
            "ep": lay.ep, "moe_dense_tp": lay.moe_dense_tp, "dp_lm_head": lay.dp_lm_head,
            "redundant_experts": lay.redundant_experts, "deepep": lay.deepep,
            "kv_dtype_bytes": p.kv_dtype_bytes, "page_size": p.page_size, "context_length": p.context_length,
            "max_running_requests": p.max_running_requests,
            "max_running_requests_source": p.max_running_requests_source,
            "prefill_tokens_flag": p.prefill_tokens_flag,
        },
    }
    return out


def plans_json(version: str, results: list[tuple[str, list[RolePlan]]]) -> dict:
    return {"version": version, "format": JSON_VERSION,
            "inputs": [{"overlay": name, "roles": [plan_dict(rp) for rp in plans]} for name, plans in results]}


COLUMNS = ("role", "workload", "GPU GiB", "static", "budget GiB", "weights GiB", "KV B/token",
           "KV tokens/rank", "ctx reqs/rank", "running/rank", "headroom GiB")


def plan_row(rp: RolePlan) -> list[str]:
    p = rp.plan
    return [rp.role, rp.workload.name, f"{p.gpu.memory_gib:.1f}", f"{p.mem_fraction_static:.3f}",
            f"{p.pool.budget_gib:.1f}", f"{p.weights_gib_per_gpu:.1f}", str(p.kv_bytes_per_token),
            f"{p.kv_tokens_per_rank:,}", str(p.full_context_requests_per_rank), str(p.running_requests_per_rank),
            f"{p.headroom_gib:.1f}"]


def plans_text(results: list[tuple[str, list[RolePlan]]]) -> str:
    lines = []
    for name, plans in results:
        lines.append(f"{name}:")
        rows = [plan_row(rp) for rp in plans if rp.plan]
        if rows:
            widths = [max(len(c), *(len(r[i]) for r in rows)) for i, c in enumerate(COLUMNS)]
            lines.append("  " + "  ".join(c.ljust(w) for c, w in zip(COLUMNS, widths)).rstrip())
            for r in rows:
                lines.append("  " + "  ".join(v.ljust(w) for v, w in zip(r, widths)).rstrip())
        for rp in plans:
            p = rp.plan
            if p is None:
                lines.append(f"  {rp.role} {rp.workload.name}: no plan: {'; '.join(rp.reasons)}")
                continue
            notes = [f"model {p.model.name} ({p.model_source})", f"GPU {p.gpu.name} ({p.gpu_source})",
                     f"static fraction from {p.mem_fraction_source}",
                     f"layout tp {p.layout.tp} pp {p.layout.pp} attention-dp {p.layout.attn_dp} ep {p.layout.ep}",
                     f"context {p.context_length}"]
            lines.append(f"  {rp.role} {rp.workload.name}: " + ", ".join(notes))
            if not p.weights_fit:
                lines.append(f"    weights {p.weights_gib_per_gpu:.1f} GiB exceed the static budget {p.pool.budget_gib:.1f} GiB: SGLang stops with 'Not enough memory'")
        if not plans:
            lines.append("  no SGLang engines")
    return "\n".join(lines) + "\n"
