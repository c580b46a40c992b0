"""Model and GPU facts: the data files shipped with pdcheck, or a local config.json.

No network: `models.json` and `gpus.json` are read from the package; `--model-config DIR` reads
DIR/config.json (a Hugging Face config) instead.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from ..errors import InputError

HERE = Path(__file__).resolve().parent
GIB = 1 << 30
MIB = 1 << 20


@dataclass(frozen=True)
class ModelFacts:
    """What the weight and KV arithmetic needs, in Hugging Face config.json terms."""

    name: str
    family: str  # deepseek_v3 (MLA + DeepSeekMoE), glm4_moe, qwen3_moe, qwen3, llama
    source: str
    hidden_size: int
    num_hidden_layers: int
    num_attention_heads: int
    num_key_value_heads: int
    vocab_size: int
    tie_word_embeddings: bool
    weight_dtype: str  # bf16 | fp8 (Linear layers; embeddings, norms and routers stay bf16)
    head_dim: int | None = None
    intermediate_size: int | None = None  # dense MLP
    attention_bias: bool = False
    # MLA (DeepSeek-V2/V3, Kimi-K2)
    q_lora_rank: int | None = None
    kv_lora_rank: int | None = None
    qk_nope_head_dim: int | None = None
    qk_rope_head_dim: int | None = None
    v_head_dim: int | None = None
    # MoE
    n_routed_experts: int = 0
    n_shared_experts: int = 0
    moe_intermediate_size: int | None = None
    first_k_dense_replace: int = 0  # leading dense layers
    max_position_embeddings: int | None = None

    @property
    def mla(self) -> bool:
        return self.kv_lora_rank is not None

    @property
    def moe(self) -> bool:
        return self.n_routed_experts > 0

    @property
    def attention_head_dim(self) -> int:
        return self.head_dim or self.hidden_size // self.num_attention_heads


_FIELDS = {f for f in ModelFacts.__dataclass_fields__} - {"name", "family", "source"}


def _normal(name: str) -> str:
    return name.strip().lower().replace("_", "-").replace(" ", "-")


@lru_cache(maxsize=None)
def _model_table() -> dict:
    return json.loads((HERE / "models.json").read_text())["models"]


def _facts(name: str, entry: dict, table: dict) -> ModelFacts:
    base = dict(table[entry["same_as"]]) if "same_as" in entry else {}
    merged = {**base, **{k: v for k, v in entry.items() if k != "same_as"}}
    values = {k: v for k, v in merged.items() if k in _FIELDS}
    return ModelFacts(name=name, family=merged["family"], source=merged["source"], **values)


def known_models() -> list[str]:
    return sorted(_model_table())


def model_by_name(name: str) -> ModelFacts | None:
    """Facts of a model named by its Hugging Face id (`deepseek-ai/DeepSeek-R1-0528`) or an alias."""
    table = _model_table()
    wanted = _normal(name)
    for key, entry in table.items():
        if _normal(key) == wanted or _normal(key.split("/")[-1]) == wanted or wanted in map(_normal, entry.get("aliases", ())):
            return _facts(key, entry, table)
    return None


def model_from_config(directory: str) -> ModelFacts:
    """Facts read from DIR/config.json (--model-config). Raises InputError for what is not modelled."""
    path = Path(directory) / "config.json"
    try:
        config = json.loads(path.read_text())
    except FileNotFoundError:
        raise InputError(str(path), "no such file (--model-config wants the model directory holding config.json)") from None
    except (OSError, ValueError) as exc:
        raise InputError(str(path), f"cannot read it as JSON ({exc})") from None
    if not isinstance(config, dict):
        raise InputError(str(path), "is not a JSON object")
    config = config.get("text_config", config) if "num_hidden_layers" not in config else config
    model_type = str(config.get("model_type", ""))
    family = {"deepseek_v3": "deepseek_v3", "deepseek_v2": "deepseek_v3", "kimi_k2": "deepseek_v3",
              "glm4_moe": "glm4_moe", "qwen3_moe": "qwen3_moe", "qwen2_moe": "qwen3_moe",
              "qwen3": "qwen3", "qwen2": "qwen3", "llama": "llama", "mistral": "llama"}.get(model_type)
    if family is None:
        raise InputError(str(path), f"model_type {model_type!r} is not modelled (known: deepseek_v2/v3, kimi_k2, glm4_moe, qwen2/3(_moe), llama, mistral)")
    quant = config.get("quantization_config") or {}
    method = str(quant.get("quant_method", "")).lower() if isinstance(quant, dict) else ""
    if method == "fp8":
        weight_dtype = "fp8"
    elif not method:
        dtype = str(config.get("torch_dtype") or config.get("dtype") or "bfloat16")
        if dtype not in ("bfloat16", "float16"):
            raise InputError(str(path), f"weights in {dtype} are not modelled (bf16/fp16 and fp8 are)")
        weight_dtype = "bf16"
    else:
        raise InputError(str(path), f"quantization {method!r} is not modelled (fp8 is)")
    try:
        values = {
            "hidden_size": int(config["hidden_size"]),
            "num_hidden_layers": int(config["num_hidden_layers"]),
            "num_attention_heads": int(config["num_attention_heads"]),
            "num_key_value_heads": int(config.get("num_key_value_heads") or config["num_attention_heads"]),
            "vocab_size": int(config["vocab_size"]),
        }
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError(str(path), f"missing or non-integer field {exc}") from None
    optional_ints = ("head_dim", "intermediate_size", "q_lora_rank", "kv_lora_rank", "qk_nope_head_dim",
                     "qk_rope_head_dim", "v_head_dim", "moe_intermediate_size", "max_position_embeddings")
    for key in optional_ints:
        if isinstance(config.get(key), int):
            values[key] = config[key]
    experts = config.get("n_routed_experts") or config.get("num_experts") or 0
    values["n_routed_experts"] = int(experts)
    values["n_shared_experts"] = int(config.get("n_shared_experts") or 0)
    dense = config.get("first_k_dense_replace")
    if dense is None and family == "qwen3_moe":
        dense = len(config.get("mlp_only_layers") or [])
    values["first_k_dense_replace"] = int(dense or 0)
    values["tie_word_embeddings"] = bool(config.get("tie_word_embeddings", False))
    values["attention_bias"] = bool(config.get("attention_bias", False) or config.get("qkv_bias", False))
    return ModelFacts(name=str(path.parent), family=family, source=str(path), weight_dtype=weight_dtype, **values)


@dataclass(frozen=True)
class GpuFacts:
    name: str
    memory_mib: int
    source: str
    nvlink: bool = True  # False for PCIe-only products: no NCCL/custom all-reduce peer buffers

    @property
    def memory_gib(self) -> float:
        return self.memory_mib * MIB / GIB


@lru_cache(maxsize=None)
def _gpu_table() -> dict:
    return json.loads((HERE / "gpus.json").read_text())["gpus"]


def known_gpus() -> list[str]:
    return sorted(_gpu_table())


def gpu_by_name(name: str) -> GpuFacts | None:
    """A GPU named by --gpu, .pdcheck.yaml or GPU feature discovery's nvidia.com/gpu.product label."""
    wanted = _normal(name)
    for key, entry in _gpu_table().items():
        if wanted == _normal(key) or wanted in entry["names"]:
            return GpuFacts(key, entry["memory_mib"], entry["source"], entry.get("nvlink", True))
    return None
