from ...findings import Severity
from ...model import version_guess_note
from ..base import Problem, Rule
from ._helpers import at_most, ARGPARSE, ROUTER_LAUNCH, SGLANG_ARGS_056, other_versions_with, parsed_containers, problem_path, program_text, where


def check(model, ctx):
    for wl, pod, c in parsed_containers(model):
        for p in c.parsed.problems:
            if p.kind != "unknown":
                continue
            name = p.flag.split("=", 1)[0]
            elsewhere = other_versions_with(c, name)
            known_in = f" (it exists in {c.parsed.catalog.program} {', '.join(elsewhere)})" if elsewhere else ""
            suggestion = p.suggestion
            if suggestion:
                fix = f"write {suggestion}" + (f", or pin an image of a version that has {name}" if elsewhere else "")
            elif elsewhere:
                fix = f"pin the image to a version that has {name} or drop the flag"
            else:
                fix = f"remove {name} or correct its spelling against `{c.parsed.catalog.program} --help` of {c.parsed.catalog.version}"
            hint = f" (did you mean {suggestion}?)" if suggestion else ""
            yield Problem(wl.obj, problem_path(c, p.index),
                          f"{where(wl, pod, c)}: {name} is not an option of {program_text(c)}{hint}{known_in}, so it exits with 'unrecognized arguments' before starting" + version_guess_note(c),
                          fix, at_most=at_most(c))


RULE = Rule(
    id="flag-unknown",
    severity=Severity.ERROR,
    summary="Flag the SGLang or router version in the image does not have",
    doc="""SGLang (`prepare_server_args`) and the router (`launch_router`) parse their command line
with `argparse.parse_args`, which exits with status 2 on any option it does not know: the pod
crash-loops without a log line from SGLang itself, and on an LWS group every rank does. Flags come
and go between releases (`--enable-deepep-moe` became `--moe-a2a-backend deepep`, 0.5.23 split
`--cuda-graph-max-bs` into per-phase flags), so the check runs against the flag catalog of the
version in the image tag, says which catalogued versions do have the flag, and suggests the closest
spelling. When the tag names no release (`latest`, `dev`, a date, no tag) or one without a catalog,
the catalog is a guess: the finding is then a warning that names the catalog assumed and how to
pin the real one (`--sglang-version`, `.pdcheck.yaml`); the other flag rules do the same.""",
    links=(SGLANG_ARGS_056, ROUTER_LAUNCH, ARGPARSE),
    check=check,
)
