"""Human output: findings grouped per overlay, one block each, and a summary line."""

from __future__ import annotations

from ..findings import Severity

_COLORS = {Severity.ERROR: "\033[31m", Severity.WARNING: "\033[33m", Severity.INFO: "\033[36m"}
_DIM, _BOLD, _RESET = "\033[2m", "\033[1m", "\033[0m"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def inputs_phrase(result) -> str:
    """'3 overlays and 2 files', '1 overlay, 1 file and standard input': what the run checked, by kind."""
    kinds = list(result.kinds)
    if len(kinds) != len(result.inputs):  # a result made without kinds (tests)
        return _plural(len(result.inputs), "input")
    parts = [_plural(kinds.count(kind), word) for kind, word in (("kustomize", "overlay"), ("file", "file"))
             if kinds.count(kind)]
    if "stdin" in kinds:
        parts.append("standard input")
    if not parts:
        return "0 inputs"
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def summary_line(result) -> str:
    """The summary the text and github formats end with (docs/output.md)."""
    errors, warnings = result.count(Severity.ERROR), result.count(Severity.WARNING)
    line = f"{_plural(errors, 'error')}, {_plural(warnings, 'warning')} in {inputs_phrase(result)}"
    infos = result.count(Severity.INFO)
    if infos:
        line += f" ({_plural(infos, 'note')})"
    if result.suppressed:
        line += f", {result.suppressed} suppressed"
    if result.input_errors:
        line += f"; {_plural(len(result.input_errors), 'input')} could not be checked"
    return line


def report(result, stream, color: bool) -> None:
    def paint(text, code):
        return f"{code}{text}{_RESET}" if color else text

    by_overlay: dict[str, list] = {}
    for f in result.findings:
        by_overlay.setdefault(f.overlay or "", []).append(f)
    for overlay, findings in by_overlay.items():
        stream.write(paint(overlay or "<input>", _BOLD) + "\n")
        for f in findings:
            where = f"{f.file}:{f.line}" if f.file and f.line else (f.file or "")
            head = f"  {paint(f.severity.value, _COLORS[f.severity])} [{f.rule}] {f.object}"
            if f.path_text:
                head += f" {paint(f.path_text, _DIM)}"
            stream.write(head + "\n")
            if where:
                stream.write(f"    {paint(where, _DIM)}\n")
            stream.write(f"    {f.message}\n")
            if f.fix:
                stream.write(f"    fix: {f.fix}\n")
            for role, file, line, text in f.provenance:  # where the value was set (provenance.py)
                place = f"{file}:{line}" if file and line else (file or "")
                if role == "caused":  # a folded finding: its rule and object (the message is in JSON)
                    text = text.split(": ", 1)[0]
                stream.write(f"    {role}: {paint(place, _DIM)} {text}\n")
    # (input errors: on standard error, in every format; see cli.validate)
    stream.write(summary_line(result) + "\n")
