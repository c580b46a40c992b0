"""GitHub Actions workflow commands: ::error file=F,line=L,title=T::message"""

from __future__ import annotations

from ..findings import Severity
from .escape import printable
from .text import summary_line

_COMMAND = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "notice"}


def _escape_data(text: str) -> str:
    """GitHub's own escaping of a command's data (%, CR, LF), after printable() on each field."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def report(result, stream, color: bool = False) -> None:
    for f in result.findings:
        props = []
        if f.file:
            props.append(f"file={_escape_property(printable(f.file))}")
            if f.line:
                props.append(f"line={f.line}")
        title = f"{f.rule} {printable(f.object)}" if f.object else f.rule
        props.append(f"title={_escape_property(title)}")
        where = f" ({printable(f.path_text)})" if f.path_text else ""
        message = f"{printable(f.message, True)}{where}" + (f"\nfix: {printable(f.fix, True)}" if f.fix else "")
        stream.write(f"::{_COMMAND[f.severity]} {','.join(props)}::{_escape_data(message)}\n")
    for err in result.input_errors:
        props = [f"file={_escape_property(printable(err.file))}"] if err.file else []
        props.append("title=pdcheck input error")
        stream.write(f"::error {','.join(props)}::{_escape_data(printable(err.message, True))}\n")
    # A plain log line (not a workflow command), worded like the text reporter's summary.
    stream.write(f"pdcheck: {summary_line(result)}\n")
