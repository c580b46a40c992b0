from ...findings import Severity
from ...model import version_guess_note
from ..base import Problem, Rule
from ._helpers import SGLANG_ARGS_0523, parsed_containers, problem_path, program_text, where


def _fix(c, option, name: str) -> str:
    if name == "--enable-dp-attention":
        dp = c.int_flag("--dp-size")
        if isinstance(dp, int) and dp > 1:
            return f"replace --dp-size {dp} --enable-dp-attention by --attn-dp-size {dp} (and drop --dp-size, which now counts whole replicas)"
        return "replace it by --attn-dp-size <N> and drop --dp-size (which now counts whole replicas)"
    replacement = getattr(option, "deprecated", "") or ""
    if "use " in replacement:
        return "switch to " + replacement.split("use ", 1)[1].rstrip(".").replace(" instead", "") + " before the flag is removed"
    return f"remove {name} (see `{c.parsed.catalog.program} --help` for what replaces it)"


def check(model, ctx):
    for wl, pod, c in parsed_containers(model):
        for p in c.parsed.problems:
            if p.kind != "deprecated":
                continue
            option = c.parsed.catalog.resolve(p.flag.split("=", 1)[0])
            name, note = getattr(option, "name", p.flag), getattr(option, "deprecated", None) or "deprecated"
            yield Problem(wl.obj, problem_path(c, p.index),
                          f"{where(wl, pod, c)}: {name} is deprecated in {program_text(c)} ({note}); it still works through a shim due for removal" + version_guess_note(c),
                          _fix(c, option, name))


RULE = Rule(
    id="flag-deprecated",
    severity=Severity.WARNING,
    summary="Deprecated flag",
    doc="""Deprecated flags still start the server but only through a compatibility shim that is
scheduled for removal (SGLang 0.5.23 marks `--enable-dp-attention` for removal after 2026-12-31):
the next image bump turns the warning into an 'unrecognized arguments' exit. Some shims also
change meaning on the way: in 0.5.23 `--dp-size N --enable-dp-attention` is rewritten into
`--attn-dp-size N` with `--dp-size 1`, because `--dp-size` now counts whole replicas. Migrating
while both spellings work is cheap.""",
    links=(SGLANG_ARGS_0523,
           "https://github.com/sgl-project/sglang/blob/v0.5.23/python/sglang/srt/arg_groups/parallel_hook.py"),
    check=check,
)
