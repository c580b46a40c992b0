from ...findings import Severity
from ...model import version_guess_note
from ..base import Problem, Rule
from ._helpers import at_most, ARGPARSE, ROUTER_LAUNCH, SGLANG_ARGS_056, parsed_containers, problem_path, program_text, runtime_only, where

KINDS = ("missing-value", "bad-type", "bad-choice", "unexpected-positional", "missing-required")

FIXES = {
    "missing-value": "give the flag its value as the next list item (or drop the flag)",
    "bad-type": "write a value of the flag's type",
    "bad-choice": "use one of the listed choices",
    "unexpected-positional": "remove the stray item or attach it to the flag it belongs to (one list item per flag and per value)",
    "missing-required": "add the required flag",
}


def _values_at(c, index: int) -> list[str]:
    """The values the parser attached to the option at flags[index], as written."""
    return next((list(arg.values) for arg in c.parsed.args if arg.index == index), [])


def check(model, ctx):
    for wl, pod, c in parsed_containers(model):
        problems = c.parsed.problems
        stray_owner = {p.index + 1 for p in problems if p.kind in ("unknown", "ambiguous")}
        has_config = any(a.option_string == "--config" for a in c.parsed.args)
        for p in problems:
            if p.kind not in KINDS:
                continue
            if p.kind in ("bad-type", "bad-choice") and any(runtime_only(c, v) for v in _values_at(c, p.index) or [p.flag]):
                continue  # only known at run time (or an unresolved $(VAR), reported by unresolved-variable)
            if p.kind == "unexpected-positional":
                if p.index in stray_owner:
                    continue  # the value of an unknown/ambiguous flag: flag-unknown/flag-ambiguous report it
                if runtime_only(c, p.flag):
                    continue  # `$(VAR)` (unresolved-variable) or an opaque shell word: may be several words
            if p.kind == "missing-required" and (has_config or c.opaque_words):
                continue  # may come from the --config file or an opaque word
            detail, fix = p.detail.rstrip("."), FIXES[p.kind]
            if p.kind == "unexpected-positional" and p.flag.startswith("-") and " " in p.flag:
                head, rest = p.flag.split(" ", 1)
                detail = f"{p.flag!r} is one list item, which argparse takes as a stray argument, not as {head} with a value"
                fix = f"split it into two list items: {head!r} and {rest!r}"
            yield Problem(wl.obj, problem_path(c, p.index),
                          f"{where(wl, pod, c)}: {detail}, so {program_text(c)} exits at argument parsing" + version_guess_note(c),
                          fix, at_most=at_most(c))


RULE = Rule(
    id="flag-invalid-value",
    severity=Severity.ERROR,
    summary="Flag value argparse rejects: wrong type, not a choice, missing, stray or required flag absent",
    doc="""argparse converts and checks every value before SGLang or the router runs any code: an int
flag given `16GPU`, a choice outside the list (`--disaggregation-mode decoder`), a flag left without
its value, a list item no option consumes (often `"--tp-size 16"` written as one item, or a value
after a boolean flag) or a missing `--model-path` all end in exit status 2 and a crash-looping pod.
Values that hold a Secret, fieldRef or other run-time placeholder are not judged, nor are literal
`$(VAR)` left by kubelet (see `unresolved-variable`).""",
    links=(SGLANG_ARGS_056, ROUTER_LAUNCH, ARGPARSE),
    check=check,
)
