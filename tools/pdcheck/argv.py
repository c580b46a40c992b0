"""Parse a launcher argv against a flag Catalog with CPython argparse semantics.

We only have the catalog (no real parser), so this mirrors argparse 3.11's
_parse_known_args: classify each token as option ('O') or argument ('A'), let each option
consume arguments by its nargs pattern, convert/check values, and report what argparse would
reject. Unlike argparse, which stops at the first error, we collect every problem.

The caller expands Kubernetes $(VAR) references before parsing; a value that still holds one
and fails its type/choice check gets a hint about the unresolved variable.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from pdcheck.catalog import Catalog, Option

# Problems that make argparse exit 2. 'deprecated' is only a warning from the launcher.
ERROR_KINDS = frozenset({"unknown", "ambiguous", "missing-value", "bad-type", "bad-choice",
                         "unexpected-positional", "missing-required"})


@dataclass
class ParsedArg:
    written: str  # the token as written, e.g. '--tp' or '--tp=16'
    option: Option
    values: list[str]
    index: int  # position in argv
    option_string: str | None = None  # the full option string it resolved to, e.g. '--tp-size'


@dataclass
class ArgProblem:
    kind: str  # see ERROR_KINDS, plus 'deprecated'
    flag: str
    index: int
    detail: str
    suggestion: str | None = None  # for 'unknown': the option it is probably a misspelling of


@dataclass
class ParsedArgv:
    args: list[ParsedArg]
    problems: list[ArgProblem]
    catalog: Catalog

    def raw(self, dest: str) -> list[ParsedArg]:
        return [a for a in self.args if a.option.dest == dest]

    def dest_of(self, flag: str) -> str:
        """The dest behind an option string in this catalog. Dests drift between releases
        (0.5.6's --tp-size stores `tensor_parallel_size`, 0.5.23's stores `tp_size`), so
        version-independent callers should ask by flag."""
        option = self.catalog.resolve(flag)
        if not isinstance(option, Option):
            raise KeyError(f"{flag} is not one option of {self.catalog.program} {self.catalog.version}")
        return option.dest

    def occurrences(self, flag: str) -> list[ParsedArg]:
        """Where the flag is written, in order; [] when this version has no such option."""
        try:
            return self.raw(self.dest_of(flag))
        except KeyError:
            return []

    def value(self, dest: str) -> object:
        """The value argparse would store for `dest` (last occurrence wins; append collects; the
        catalog default when absent). Rules ask ContainerRun.flag(option) instead."""
        occurrences = self.raw(dest)
        if not occurrences:
            options = self.catalog.by_dest(dest)
            if not options:
                raise KeyError(f"{self.catalog.program} {self.catalog.version} has no option with dest {dest!r}")
            return options[0].default
        last = occurrences[-1]
        kind = last.option.action
        if kind in ("append", "extend"):
            collected = []
            for occurrence in occurrences:
                value = _stored_value(occurrence)
                if kind == "extend":
                    collected.extend(value)
                else:
                    collected.append(value)
            return collected
        if kind == "append_const":
            return [o.option.const for o in occurrences]
        if kind == "count":
            return len(occurrences)
        return _stored_value(last)


def _convert(option: Option, text: str) -> object:
    """Convert like argparse's type=...; custom callables are left as text (we can't run them)."""
    if option.type == "int":
        return int(text)
    if option.type == "float":
        return float(text)
    if option.type == "json":
        return json.loads(text)
    return text


def _stored_value(arg: ParsedArg) -> object:
    option = arg.option
    kind = option.action
    if kind == "store_true":
        return True
    if kind == "store_false":
        return False
    if kind in ("store_const", "append_const"):
        return option.const
    if kind == "BooleanOptionalAction":
        return not (arg.option_string or arg.written).startswith("--no-")
    if not option.takes_value:
        return True  # custom no-value actions (e.g. SGLang's DeprecatedStoreTrueAction) set a flag
    try:
        values = [_convert(option, v) for v in arg.values]
    except ValueError:
        values = list(arg.values)
    if option.nargs is None:
        return values[0] if values else None
    if option.nargs == "?":
        return values[0] if values else option.const
    return values


def _nargs_regex(nargs: int | str | None) -> str:
    """argparse _get_nargs_pattern for an optional (where '--' is never consumed)."""
    if nargs is None:
        return "(A)"
    if nargs == "?":
        return "(A?)"
    if nargs == "*":
        return "([A]*)"
    if nargs == "+":
        return "(A[A]*)"
    if nargs == "...":  # argparse.REMAINDER
        return "([AO]*)"
    if nargs == "A...":  # argparse.PARSER
        return "(A[AO]*)"
    if nargs == "==SUPPRESS==":
        return "()"
    return "(%s)" % ("A" * int(nargs))


def _count_expected(nargs: int | str | None) -> str:
    if nargs is None:
        return "expected one argument"
    if nargs == "?":
        return "expected at most one argument"
    if nargs == "+":
        return "expected at least one argument"
    return f"expected {nargs} argument" + ("" if nargs == 1 else "s")


def parse_argv(argv: list[str], catalog: Catalog) -> ParsedArgv:
    problems: list[ArgProblem] = []
    parsed: list[ParsedArg] = []
    positionals: list[tuple[int, str]] = []

    # 1. classify tokens like argparse: 'O' option, 'A' argument, '-' for '--' (after which
    #    everything is an argument).
    pattern: list[str] = []
    matches = {}
    after_double_dash = False
    for index, token in enumerate(argv):
        if after_double_dash:
            pattern.append("A")
        elif token == "--":
            pattern.append("-")
            after_double_dash = True
        else:
            match = catalog.match_optional(token)
            if match is None:
                pattern.append("A")
            else:
                pattern.append("O")
                matches[index] = match
    pattern_text = "".join(pattern)

    # 2. walk the options; arguments no option consumed are unexpected positionals
    #    (SGLang and the router declare no positionals).
    index = 0
    while index < len(argv):
        if index not in matches:
            # With no positionals declared, argparse 3.11 leaves even '--' itself unconsumed.
            positionals.append((index, argv[index]))
            index += 1
            continue
        token = argv[index]
        match = matches[index]
        if match.ambiguous:
            problems.append(ArgProblem(
                "ambiguous", token, index,
                f"{token} is an ambiguous abbreviation: it could match {', '.join(match.ambiguous)}; "
                "write the full option name."))
            index = _skip_values_of_ambiguous(match, catalog, pattern_text, index)
            continue
        if match.option is None:
            suggestion = _suggest(token, catalog)
            hint = f"; did you mean {suggestion}?" if suggestion else "."
            problems.append(ArgProblem(
                "unknown", token, index,
                f"{token} is not an option of {catalog.program} {catalog.version}{hint}", suggestion))
            index += 1
            continue
        index = _consume_option(argv, pattern_text, index, match, catalog, parsed, problems)

    for position, token in positionals:
        previous = _previous_flag(parsed, position)
        hint = ""
        if previous is not None and not previous.option.takes_value and previous.index == position - 1:
            hint = f"; {previous.written} takes no value"
        elif token.startswith("-") and " " in token:
            hint = "; it looks like a flag and its value in one list item: split them"
        problems.append(ArgProblem(
            "unexpected-positional", token, position,
            f"{token!r} is not attached to any option (argparse: unrecognized arguments){hint}."))

    seen_dests = {a.option.dest for a in parsed}
    for option in catalog.options:
        if option.required and option.dest not in seen_dests:
            problems.append(ArgProblem("missing-required", option.name, -1,
                                       f"{option.name} is required by {catalog.program} {catalog.version}."))
    problems.sort(key=lambda p: (p.index, p.kind))
    return ParsedArgv(args=parsed, problems=problems, catalog=catalog)


def _consume_option(argv, pattern_text, index, match, catalog, parsed, problems) -> int:
    """Mirror of argparse consume_optional: take the option's values, return the next index.

    '--x=v' / '-xv' (an explicit value) is accepted only by options taking exactly one value;
    '-abc' with no-value short flags means '-a -b -c'.
    """
    token = argv[index]
    option, option_string, explicit = match.option, match.option_string, match.explicit_value
    while True:
        if explicit is None:  # values come from the following 'A' tokens
            found = re.match(_nargs_regex(option.nargs), pattern_text[index + 1:])
            if found is None:
                following = f" but the next token {argv[index + 1]!r} is an option" if index + 1 < len(argv) else ""
                problems.append(ArgProblem("missing-value", token, index,
                                           f"{token}: {_count_expected(option.nargs)}{following}."))
                parsed.append(ParsedArg(token, option, [], index, option_string))
                return index + 1
            values = argv[index + 1:index + 1 + len(found.group(1))]
            _record(token, index, option, values, parsed, problems, option_string)
            return index + 1 + len(values)
        found = re.match(_nargs_regex(option.nargs), "A")
        count = len(found.group(1)) if found else None
        if count == 1:
            _record(token, index, option, [explicit], parsed, problems, option_string)
            return index + 1
        if count == 0 and option_string[1] not in catalog.prefix_chars and explicit != "":
            _record(token, index, option, [], parsed, problems, option_string)
            option_string = option_string[0] + explicit[0]
            explicit = explicit[1:] or None
            option = catalog.option_strings.get(option_string)
            if option is None:
                problems.append(ArgProblem("unknown", token, index,
                                           f"{token}: {option_string} is not an option (argparse: ignored explicit argument)."))
                return index + 1
            continue
        parsed.append(ParsedArg(token, option, [], index, option_string))
        if count is None:
            problems.append(ArgProblem("missing-value", token, index,
                                       f"{token}: {option_string} {_count_expected(option.nargs)}, "
                                       "which cannot be given with '='."))
        else:
            problems.append(ArgProblem("unexpected-positional", token, index,
                                       f"{token}: {option_string} takes no value, so {explicit!r} is not accepted "
                                       "(argparse: ignored explicit argument)."))
        return index + 1


def _record(token, index, option, values, parsed, problems, option_string=None) -> None:
    parsed.append(ParsedArg(token, option, values, index, option_string))
    _check_values(option, token, index, values, problems)
    if option.deprecated:
        problems.append(ArgProblem("deprecated", token, index, f"{option.name} is {option.deprecated}."))


def _check_values(option: Option, token: str, index: int, values: list[str], problems: list[ArgProblem]) -> None:
    for value in values:
        unresolved = " (it still holds an unresolved $(VAR) reference: expand it first)" if "$(" in value else ""
        try:
            converted = _convert(option, value)
        except ValueError:
            problems.append(ArgProblem(
                "bad-type", token, index,
                f"{token}: invalid {option.type} value {value!r}{unresolved}."))
            continue
        if option.choices is not None and str(converted) not in option.choices:
            problems.append(ArgProblem(
                "bad-choice", token, index,
                f"{token}: invalid choice {value!r}{unresolved}; choose from {', '.join(option.choices)}."))


def _previous_flag(parsed: list[ParsedArg], position: int) -> ParsedArg | None:
    before = [a for a in parsed if a.index < position]
    return before[-1] if before else None


def _suggest(token: str, catalog: Catalog) -> str | None:
    """The option an unknown one is probably a misspelling of ('-tp' for '--tp'), or None."""
    import difflib

    name = token.split("=", 1)[0]
    if name.startswith("-") and not name.startswith("--"):
        double = "-" + name
        if catalog.resolve(double) is not None and not isinstance(catalog.resolve(double), list):
            return double
    close = difflib.get_close_matches(name, list(catalog.option_strings), n=1, cutoff=0.8)
    return close[0] if close else None


def _skip_values_of_ambiguous(match, catalog: Catalog, pattern_text: str, index: int) -> int:
    """argparse stops at an ambiguous option; we go on. When every candidate takes the same
    nargs, skip its values so they are not reported again as stray positionals."""
    nargs_seen = {(catalog.option_strings[s].takes_value, catalog.option_strings[s].nargs) for s in match.ambiguous}
    if len(nargs_seen) != 1:
        return index + 1
    takes_value, nargs = nargs_seen.pop()
    if "=" in match.option_string or not takes_value:  # "--x=v" carries its own value
        return index + 1
    found = re.match(_nargs_regex(nargs), pattern_text[index + 1:])
    return index + 1 + (len(found.group(1)) if found else 0)


# ----------------------------------------------------------------------------------------
# Launcher recognition
# ----------------------------------------------------------------------------------------

# The program tag of Dynamo's SGLang workers: model.py parses their flags as SGLang's (program
# 'sglang') with Dynamo's own options added to the catalog.
DYNAMO_SGLANG = "dynamo-sglang"

_PYTHON = re.compile(r"^(?:.*/)?python(?:\d+(?:\.\d+)?)?$")
_MODULES = {
    "sglang.launch_server": "sglang",
    "sglang_router.launch_router": "sglang-router",
    # NVIDIA Dynamo's SGLang workers: they parse SGLang's ServerArgs plus flags of their own
    # (dynamo_flags.py), then run SGLang's engine in-process.
    "dynamo.sglang": DYNAMO_SGLANG,
    "dynamo.sglang.worker": DYNAMO_SGLANG,  # older Dynamo releases: prefill or aggregated worker
    "dynamo.sglang.decode_worker": DYNAMO_SGLANG,  # older Dynamo releases: decode worker
}
# Console scripts: (script, subcommand) -> program (`sglang serve` in recent SGLang releases; the
# router's cli has `launch`).
_SCRIPTS = {
    ("sglang", "serve"): "sglang",
    ("sglang-router", "launch"): "sglang-router",
    ("smg", "launch"): "sglang-router",
    ("amg", "launch"): "sglang-router",
}


def split_launcher(argv: list[str]) -> tuple[str | None, list[str]]:
    """('sglang' | 'sglang-router' | DYNAMO_SGLANG | None, the flag part) for a container command+args.

    Recognises `python3 -m sglang.launch_server ...`, `python3 -m dynamo.sglang ...`, `python -m
    sglang_router.launch_router ...`, `python -m sglang_router launch ...`, `sglang serve ...`, `sglang-router|smg launch
    ...`, optionally behind `exec`/`env VAR=x`. Shell scripts (`sh -c "..."`) are read by
    shell.find_launch, which hands the command it finds to this function.
    """
    tokens = _strip_wrappers(list(argv))
    if not tokens:
        return None, argv
    head = tokens[0]
    if _PYTHON.match(head):
        rest = tokens[1:]
        while rest and rest[0].startswith("-") and rest[0] != "-m":
            rest = rest[1:]  # interpreter flags such as -u, -O
        if len(rest) >= 2 and rest[0] == "-m":
            module = rest[1]
            if module in _MODULES:
                return _MODULES[module], rest[2:]
            if module == "sglang_router" and rest[2:3] == ["launch"]:
                return "sglang-router", rest[3:]
            if module == "sglang.cli.main" and rest[2:3] == ["serve"]:
                return "sglang", rest[3:]
        return None, argv
    script = head.rsplit("/", 1)[-1]
    if len(tokens) >= 2 and (script, tokens[1]) in _SCRIPTS:
        return _SCRIPTS[(script, tokens[1])], tokens[2:]
    return None, argv


# Commands that run the command given after their own options: `numactl --interleave=all python3
# -m ...`. Their options are skipped up to the interpreter or a known console script.
_WRAPPERS = frozenset({"numactl", "taskset", "nice", "ionice", "chrt", "stdbuf", "timeout", "time",
                       "nsys", "tini", "dumb-init", "gosu", "su-exec", "setpriv", "uv"})


def _strip_wrappers(tokens: list[str]) -> list[str]:
    while tokens:
        if tokens[0] in ("exec", "nohup"):
            tokens = tokens[1:]
        elif tokens[0].rsplit("/", 1)[-1] in _WRAPPERS:
            start = next((i for i, t in enumerate(tokens) if i > 0 and (
                _PYTHON.match(t) or t.rsplit("/", 1)[-1] in {script for script, _ in _SCRIPTS})), None)
            if start is None:
                break
            tokens = tokens[start:]
        elif tokens[0].rsplit("/", 1)[-1] == "env":
            tokens = tokens[1:]
            while tokens and re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", tokens[0]):
                tokens = tokens[1:]
        elif re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", tokens[0]):
            tokens = tokens[1:]  # VAR=x cmd ...
        else:
            break
    return tokens
