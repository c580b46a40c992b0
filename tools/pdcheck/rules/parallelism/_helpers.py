"""Shared by the parallelism rules: the routed experts of a model (SGLang's layout is ContainerRun.layout)."""

from __future__ import annotations

import re

from ...model import ContainerRun, as_int, known_at_render

NUM_EXPERTS_ANNOTATION = "pdcheck.io/num-experts"


# --- routed experts -------------------------------------------------------------------------

# Routed (not shared) experts of well-known checkpoints, matched on the last component of
# --model-path (case-insensitive, '_' read as '-'). From the Hugging Face configs:
# DeepSeek-V3/R1 `n_routed_experts: 256`, Qwen3-30B-A3B and Qwen3-235B-A22B `num_experts: 128`.
# SGLang reads exactly these keys (models/deepseek_v2.py, models/qwen3_moe.py
# get_model_config_for_expert_location).
KNOWN_EXPERTS = (
    (re.compile(r"deepseek-(r1|v3)(?!.*distill)"), 256),
    (re.compile(r"qwen3-30b-a3b"), 128),
    (re.compile(r"qwen3-235b-a22b"), 128),
)


def routed_experts(wl, pod, c: ContainerRun) -> tuple[int | None, str]:
    """(routed experts, where the number comes from), or (None, '') when unknown."""
    for where, notes in (("pod template", pod.annotations), ("workload", wl.obj.annotations)):
        if isinstance(notes, dict) and NUM_EXPERTS_ANNOTATION in notes:
            n = as_int(notes[NUM_EXPERTS_ANNOTATION])
            return (n, f"annotation {NUM_EXPERTS_ANNOTATION} on the {where}") if n and n > 0 else (None, "")
    path = c.str_flag("--model-path")
    if not isinstance(path, str) or not known_at_render(path):
        return None, ""
    name = path.rstrip("/").rsplit("/", 1)[-1].lower().replace("_", "-")
    for pattern, n in KNOWN_EXPERTS:
        if pattern.search(name):
            return n, f"model {path.rstrip('/').rsplit('/', 1)[-1]}"
    return None, ""
