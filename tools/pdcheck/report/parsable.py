"""One line per finding, yamllint's `parsable` shape, for editors and CI log matchers:

    file:line:col: severity [rule] message

file: the finding's file, else its input; line and column: 1-based, 0 when unknown (pdcheck knows
lines, not columns: the column is 1 whenever the line is known). Input errors are lines too, with
the rule `input-error`. No summary line: every line has the same shape.
"""

from __future__ import annotations

from ..errors import INPUT_ERROR_ID
from .escape import printable



def _line(file: str, line: int | None, severity: str, rule: str, message: str) -> str:
    where = f"{line}:1" if line else "0:0"
    return f"{printable(file)}:{where}: {severity} [{rule}] {printable(message)}\n"


def report(result, stream, color: bool = False) -> None:
    for f in result.findings:
        message = f.message + (f" ({f.object} {f.path_text})" if f.path_text else f" ({f.object})" if f.object else "")
        if f.fix:
            message += f"; fix: {f.fix}"
        stream.write(_line(f.file or f.overlay or "<input>", f.line, f.severity.value, f.rule, message))
    for err in result.input_errors:
        stream.write(_line(err.file or "<input>", None, "error", INPUT_ERROR_ID, err.message))
