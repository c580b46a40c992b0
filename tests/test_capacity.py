"""pdcheck plan and the capacity arithmetic: model/GPU facts, weight split, KV per token, SGLang's
default static fraction, the planner's reasons for not planning, and the command line."""

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pdcheck.capacity import arithmetic as ar
from pdcheck.capacity.facts import GIB, gpu_by_name, known_models, model_by_name, model_from_config
from pdcheck.cli import app
from pdcheck.errors import InputError

REPO = Path(__file__).resolve().parents[1]
runner = CliRunner()
R1 = "deepseek-ai/DeepSeek-R1-0528"


# --- facts ----------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["deepseek-ai/DeepSeek-R1-0528", "DeepSeek-R1-0528", "deepseek_r1_0528"])
def test_model_names_and_aliases(name):
    assert model_by_name(name).name == R1


def test_every_model_has_a_source_and_consistent_facts():
    for name in known_models():
        m = model_by_name(name)
        assert m.source.startswith("https://huggingface.co/"), name
        assert m.num_attention_heads % m.num_key_value_heads == 0, name
        assert m.mla == (m.family == "deepseek_v3"), name
        assert m.moe == (m.family in ("deepseek_v3", "glm4_moe", "qwen3_moe")), name


def test_the_issue_s_models_are_known():
    for name in ("DeepSeek-V3", "DeepSeek-R1", "DeepSeek-R1-0528", "Qwen3-30B-A3B", "Qwen3-235B-A22B", "Qwen3-8B",
                 "Qwen3-32B", "Llama-3.1-8B-Instruct", "Llama-3.1-70B-Instruct", "Kimi-K2-Instruct", "GLM-4.5"):
        assert model_by_name(name) is not None, name


@pytest.mark.parametrize("label, name", [("NVIDIA-H800", "H800-80GB"), ("NVIDIA-H100-80GB-HBM3", "H100-80GB"),
                                         ("h200", "H200-141GB"), ("NVIDIA-A100-SXM4-40GB", "A100-40GB"),
                                         ("NVIDIA-L4", "L4-24GB"), ("NVIDIA-GeForce-RTX-4090", "RTX4090-24GB")])
def test_gpu_names(label, name):
    assert gpu_by_name(label).name == name


def test_unknown_gpu_is_none():
    assert gpu_by_name("NVIDIA-Z9000") is None


def test_model_config_directory(tmp_path):
    config = {"model_type": "qwen3", "hidden_size": 5120, "num_hidden_layers": 40, "num_attention_heads": 40,
              "num_key_value_heads": 8, "head_dim": 128, "intermediate_size": 17408, "vocab_size": 151936,
              "tie_word_embeddings": False, "torch_dtype": "bfloat16", "max_position_embeddings": 40960}
    (tmp_path / "config.json").write_text(json.dumps(config))
    local = model_from_config(str(tmp_path))
    shipped = model_by_name("Qwen/Qwen3-14B")
    assert ar.weight_bytes_per_gpu(local, ar.Layout()) == ar.weight_bytes_per_gpu(shipped, ar.Layout())


@pytest.mark.parametrize("content, message", [
    (None, "no such file"),
    ("{not json", "cannot read it as JSON"),
    ('{"model_type": "mamba"}', "is not modelled"),
    ('{"model_type": "llama", "hidden_size": 8, "quantization_config": {"quant_method": "awq"}}', "'awq' is not modelled"),
])
def test_model_config_errors_name_the_file(tmp_path, content, message):
    if content is not None:
        (tmp_path / "config.json").write_text(content)
    with pytest.raises(InputError) as err:
        model_from_config(str(tmp_path))
    assert "config.json" in str(err.value) and message in str(err.value)


# --- arithmetic ----------------------------------------------------------------------------

def test_kv_bytes_per_token_mla_and_gqa():
    r1, llama = model_by_name(R1), model_by_name("Llama-3.1-70B-Instruct")
    assert ar.kv_bytes_per_token(r1, ar.Layout(tp=16, attn_dp=16), 2) == (512 + 64) * 61 * 2
    assert ar.kv_bytes_per_token(r1, ar.Layout(tp=8), 2) == (512 + 64) * 61 * 2  # MLA: the latent is not split
    assert ar.kv_bytes_per_token(llama, ar.Layout(tp=4), 2) == 2 * 128 * 80 * 2 * 2  # 8 KV heads / 4
    assert ar.kv_bytes_per_token(llama, ar.Layout(tp=16), 2) == 1 * 128 * 80 * 2 * 2  # replicated: 1 head
    assert ar.kv_bytes_per_token(llama, ar.Layout(tp=4), 1) == 2 * 128 * 80 * 2  # fp8 KV cache


def test_pipeline_parallel_splits_layers_and_kv():
    llama = model_by_name("Llama-3.1-70B-Instruct")
    whole = ar.weight_bytes_per_gpu(llama, ar.Layout(tp=4))
    staged = ar.weight_bytes_per_gpu(llama, ar.Layout(tp=4, pp=2))
    assert 0.45 < staged / whole < 0.56
    assert ar.kv_bytes_per_token(llama, ar.Layout(tp=4, pp=2), 2) * 2 == ar.kv_bytes_per_token(llama, ar.Layout(tp=4), 2)


def test_expert_parallel_and_redundant_experts():
    r1 = model_by_name(R1)
    base = dict(tp=16, attn_dp=16, ep=16, deepep=True, moe_dense_tp=1, dp_lm_head=True)
    plain = ar.weight_bytes_per_gpu(r1, ar.Layout(**base))
    redundant = ar.weight_bytes_per_gpu(r1, ar.Layout(**base, redundant_experts=32))
    # 32 more experts over 16 ranks: 2 more per rank, 58 MoE layers of 3 x 7168 x 2048 fp8 each.
    assert abs((redundant - plain) - 2 * 58 * 3 * 7168 * 2048 * (1 + 4 / 16384)) < 1e3


def test_dp_attention_replicates_attention_and_embeddings():
    r1 = model_by_name(R1)
    tp_only = ar.weight_bytes_per_gpu(r1, ar.Layout(tp=16, ep=16, deepep=True))
    dp_attn = ar.weight_bytes_per_gpu(r1, ar.Layout(tp=16, attn_dp=16, ep=16, deepep=True))
    assert dp_attn - tp_only > 10 * GIB  # attention and the embedding whole on every rank
    dense_split = ar.weight_bytes_per_gpu(r1, ar.Layout(tp=16, attn_dp=16, ep=16, deepep=True))
    dense_whole = ar.weight_bytes_per_gpu(r1, ar.Layout(tp=16, attn_dp=16, ep=16, deepep=True, moe_dense_tp=1))
    assert 0.9 * GIB < dense_whole - dense_split < 1.2 * GIB  # 3 dense MLPs of 3 x 7168 x 18432 fp8, 15/16 more


def test_qwen3_30b_a3b_weights_match_its_release_size():
    # 30.5B parameters in bf16 on one GPU: ~56.9 GiB.
    assert 56 * GIB < ar.weight_bytes_per_gpu(model_by_name("Qwen3-30B-A3B"), ar.Layout()) < 58 * GIB


@pytest.mark.parametrize("gpu_mib, tp, attn_dp, expected", [
    (81559, 8, 1, 0.818),   # H100 tp 8: 512 + 8192*1.5 + 512*2 + 1024 = 14848 MiB reserved
    (81559, 8, 8, 0.592),   # + DP attention 512*8*3 + 512*8*1.5
    (143771, 1, 1, 0.907),  # H200 tp 1: 512 + 12288 + 256*2 + 128 = 13440
    (23028, 1, 1, 0.837),   # 24 GB: chunk 2048, graph bs 24, no 10 GiB floor
])
def test_default_mem_fraction_of_0_5_6(gpu_mib, tp, attn_dp, expected):
    chunk = ar.default_chunked_prefill_size(gpu_mib)
    graph = ar.default_cuda_graph_max_bs(gpu_mib, tp)
    assert ar.default_mem_fraction_056(gpu_mib, tp, 1, attn_dp, chunk, 16384, graph) == expected


def test_pool_rounds_down_to_pages_and_stops_at_zero():
    pool = ar.kv_pool(81559, 0.8, 10 * GIB, 1000, 64)
    assert pool.tokens % 64 == 0 and pool.tokens > 0
    empty = ar.kv_pool(81559, 0.5, 60 * GIB, 1000, 64)
    assert empty.rest_gib < 0 and empty.tokens == 0


# --- pdcheck plan ---------------------------------------------------------------------------

def _plan(*args):
    return runner.invoke(app, ["plan", "--no-cache", *args])


def test_plan_json_keys_for_the_shipped_overlay():
    result = _plan(str(REPO / "overlays" / "h800-bond"), "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    [overlay] = data["inputs"]
    roles = {r["role"]: r for r in overlay["roles"]}
    decode = roles["decode"]["plan"]
    for key in ("weights_gib_per_gpu", "kv_bytes_per_token", "kv_tokens_per_rank", "gpu_memory_gib",
                "mem_fraction_static", "static_budget_gib", "headroom_gib", "inputs"):
        assert key in decode
    assert decode["model"] == R1 and decode["gpu"] == "H800-80GB"
    assert decode["inputs"]["gpu_source"].startswith("annotation pdcheck.io/gpu")
    assert decode["inputs"]["model_source"] == "annotation pdcheck.io/model"
    assert decode["kv_bytes_per_token"] == 70272 and decode["inputs"]["attention_dp"] == 16
    assert roles["prefill"]["plan"]["weights_fit"] is True


def test_plan_on_pcie_only_gpus_takes_the_one_gpu_startup_overhead():
    # 8 ranks per node on L40S (no NVLink): SGLang starts from total - 1 GiB, not total - 3.1 GiB.
    assert gpu_by_name("L40S").nvlink is False and gpu_by_name("H100").nvlink is True
    result = _plan(str(REPO / "overlays" / "qwen3-roce-sd"), "--gpu", "L40S", "--format", "json")
    assert result.exit_code == 0, result.output
    plan = json.loads(result.output)["inputs"][0]["roles"][0]["plan"]
    assert plan["inputs"]["tp"] == 8
    assert plan["static_budget_gib"] == pytest.approx((plan["gpu_memory_gib"] - 1.0) * plan["mem_fraction_static"], abs=0.02)


def test_plan_text_and_gpu_override_exit_1_when_weights_do_not_fit():
    # The same overlay on 40 GB A100s: 62.5 GiB of weights per GPU cannot fit.
    result = _plan(str(REPO / "overlays" / "h800-bond"), "--gpu", "A100-40GB")
    assert result.exit_code == 1, result.output
    assert "exceed the static budget" in result.output and "A100-40GB (--gpu A100-40GB)" in result.output


def test_plan_model_config_override(tmp_path):
    config = {"model_type": "llama", "hidden_size": 4096, "num_hidden_layers": 32, "num_attention_heads": 32,
              "num_key_value_heads": 8, "intermediate_size": 14336, "vocab_size": 128256, "torch_dtype": "bfloat16"}
    (tmp_path / "config.json").write_text(json.dumps(config))
    result = _plan(str(REPO / "overlays" / "qwen3-roce-sd"), "--model-config", str(tmp_path), "--format", "json")
    assert result.exit_code == 0, result.output
    plan = json.loads(result.output)["inputs"][0]["roles"][0]["plan"]
    assert plan["inputs"]["model_source"].startswith("--model-config") and plan["kv_bytes_per_token"] == 8 // 8 * 128 * 32 * 2 * 2


def test_plan_without_gpu_says_why_and_exits_2():
    # The baseline's model is found from its --model-path; it names no GPU.
    result = _plan(str(REPO / "tests" / "fixtures" / "baseline.yaml"))
    assert result.exit_code == 2
    assert "no plan: the GPU is unknown" in result.output


def test_plan_bad_model_config_is_one_line_exit_2(tmp_path):
    result = _plan(str(REPO / "overlays" / "h800-bond"), "--model-config", str(tmp_path))
    assert result.exit_code == 2 and "config.json" in result.output and "Traceback" not in result.output


def test_unresolved_flag_is_a_reason_not_a_default(tmp_path):
    text = (REPO / "tests" / "fixtures" / "baseline.yaml").read_text().replace('- "0.849"', "- $(PD_FRACTION)")
    path = tmp_path / "in.yaml"
    path.write_text(text)
    result = _plan(str(path), "--gpu", "H800")
    assert "--mem-fraction-static only known at run time" in result.output


def test_readme_plan_table_matches_the_plan():
    """README's per-overlay plan table is what `pdcheck plan overlays/` computes."""
    from pdcheck.capacity.plan import plan_model
    from pdcheck.checker import Options, build_models

    readme = (REPO / "README.md").read_text().splitlines()
    models = build_models(Options(paths=[str(REPO / "overlays")], no_cache=True))
    rows = 0
    for model in models:
        overlay = Path(model.render.name).name
        for rp in plan_model(model):
            p = rp.plan
            line = next(l for l in readme if l.startswith(f"| `{overlay}` | {rp.role} |"))
            cells = [c.strip() for c in line.strip("|").split("|")]
            assert cells[4] == f"{p.mem_fraction_static:g}", line
            assert cells[6] == f"{p.weights_gib_per_gpu:.1f}", line
            assert cells[7] == f"{p.kv_tokens_per_rank:,}", line
            assert cells[8] == str(p.full_context_requests_per_rank) and cells[9] == str(p.running_requests_per_rank), line
            rows += 1
    assert rows >= 8  # every role of every shipped overlay


def test_unknown_gpu_option_is_a_usage_error():
    result = _plan(str(REPO / "overlays" / "h800-bond"), "--gpu", "Z9000")
    assert result.exit_code == 2 and "--gpu Z9000: not a GPU pdcheck knows" in result.output


def test_unknown_gpu_in_configuration_names_the_file(tmp_path):
    from pdcheck.config import load_config

    path = tmp_path / ".pdcheck.yaml"
    path.write_text("gpu: Z9000\n")
    with pytest.raises(InputError) as err:
        load_config(path, None)
    assert str(path) in str(err.value) and "Z9000" in str(err.value)
    path.write_text("gpu: NVIDIA-H800\n")
    assert load_config(path, None).gpu == "NVIDIA-H800"
