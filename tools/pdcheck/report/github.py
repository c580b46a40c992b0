"""GitHub Actions workflow commands: ::error file=F,line=L,title=T::message"""

from __future__ import annotations

from ..findings import Severity

_COMMAND = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "notice"}


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def report(result, stream) -> None:
    for f in result.findings:
        props = []
        if f.file:
            props.append(f"file={_escape_property(f.file)}")
            if f.line:
                props.append(f"line={f.line}")
        props.append(f"title={_escape_property(f'{f.rule} {f.object}')}")
        where = f" ({f.path_text})" if f.path_text else ""
        message = f"{f.message}{where}" + (f"\nfix: {f.fix}" if f.fix else "")
        stream.write(f"::{_COMMAND[f.severity]} {','.join(props)}::{_escape_data(message)}\n")
    errors, warnings = result.count(Severity.ERROR), result.count(Severity.WARNING)
    stream.write(f"pdcheck: {errors} errors, {warnings} warnings in {len(result.renders)} overlays\n")
