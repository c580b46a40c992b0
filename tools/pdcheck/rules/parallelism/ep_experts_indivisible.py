from ...findings import Severity
from ...sglang import SRC_0523, SRC_056, a2a_backend
from .._util import describe_pod, engine_containers, flag_path
from ..base import Problem, Rule
from ._helpers import NUM_EXPERTS_ANNOTATION, routed_experts


def check(model, ctx):
    for wl, pod, c in engine_containers(model):
        lay = c.layout
        ep = lay.ep
        redundant = c.int_flag("--ep-num-redundant-experts")
        if ep is None or ep <= 1 or redundant is None or redundant < 0:
            continue
        experts, source = routed_experts(wl, pod, c)
        if experts is None:
            continue
        physical = experts + redundant
        if physical % ep == 0:
            continue
        backend, forced = a2a_backend(c)
        ep_text = f"ep {ep} (= tp, forced by --moe-a2a-backend {backend})" if forced else f"--ep-size {ep}"
        flag = "--ep-num-redundant-experts" if c.flag("--ep-num-redundant-experts").written else ("--tp-size" if forced else "--ep-size")
        smallest = (-experts) % ep
        # The multiple of ep nearest the given count, in integers (a float overflows on huge values).
        fix_redundant = smallest + ep * max(0, (2 * (redundant - smallest) + ep) // (2 * ep))
        yield Problem(wl.obj, flag_path(c, flag),
                      f"{describe_pod(pod)}: {experts} routed experts ({source}) + {redundant} redundant = {physical} physical experts do not divide over {ep_text}, so SGLang's expert-location init fails",
                      f"set --ep-num-redundant-experts so that {experts} + it is a multiple of {ep} (e.g. {fix_redundant}), or change the EP size")


RULE = Rule(
    id="ep-experts-indivisible",
    severity=Severity.ERROR,
    summary="Routed plus redundant experts do not divide over the EP ranks",
    doc=f"""Every EP rank holds the same number of physical experts: `ExpertLocationMetadata._init_common`
(`eplb/expert_location.py`, run by every model runner) asserts `(num_logical_experts +
ep_num_redundant_experts) % ep_size == 0`, after the model is loaded, i.e. minutes into start-up.
EP size is `tp` under the DeepEP/Mooncake all-to-all backends, else `--ep-size`. The routed-expert
count comes from the annotation `{NUM_EXPERTS_ANNOTATION}` on the workload or pod template, or from a
small table of well-known checkpoints matched on `--model-path` (DeepSeek-V3/R1: `n_routed_experts`
256; Qwen3-30B-A3B and Qwen3-235B-A22B: `num_experts` 128); other models are not checked. The
reference: 256 + 32 = 288 = 16 x 18.""",
    links=(
        SRC_056 + "eplb/expert_location.py",
        SRC_0523 + "eplb/expert_location.py",
        "https://huggingface.co/deepseek-ai/DeepSeek-R1/blob/main/config.json",
        "https://huggingface.co/Qwen/Qwen3-30B-A3B/blob/main/config.json",
        "https://huggingface.co/Qwen/Qwen3-235B-A22B/blob/main/config.json",
    ),
    check=check,
)
