from ...findings import Severity
from ...model import version_guess_note
from ..base import Problem, Rule
from ._helpers import at_most, ARGPARSE, SGLANG_ARGS_0523, parsed_containers, problem_path, program_text, where


def check(model, ctx):
    for wl, pod, c in parsed_containers(model):
        for p in c.parsed.problems:
            if p.kind != "ambiguous":
                continue
            resolved = c.parsed.catalog.resolve(p.flag)
            candidates = [o.name for o in resolved] if isinstance(resolved, list) else []
            choice = " or ".join(candidates) if candidates else "the full option name"
            yield Problem(wl.obj, problem_path(c, p.index),
                          f"{where(wl, pod, c)}: {p.flag.split('=', 1)[0]} is an abbreviation that matches {len(candidates) or 'several'} options of {program_text(c)} ({', '.join(candidates)}), so argparse exits with 'ambiguous option'" + version_guess_note(c),
                          f"write the option in full: {choice}", at_most=at_most(c))


RULE = Rule(
    id="flag-ambiguous",
    severity=Severity.ERROR,
    summary="Flag abbreviation that matches several options",
    doc="""argparse accepts any unique prefix of a long option (`--tp` works as `--tp-size`, `--dp`
as `--dp-size`), and exits with status 2 once a prefix matches more than one. A manifest that
worked can break on an upgrade that adds an option with the same prefix: 0.5.23 replaced
`--cuda-graph-max-bs` by `--cuda-graph-max-bs-decode` / `--cuda-graph-max-bs-prefill`, so the old
spelling (as in the reference decode) is now an ambiguous prefix and the server does not start.
Writing options in full makes the manifest independent of options added later.""",
    links=(SGLANG_ARGS_0523, ARGPARSE),
    check=check,
)
