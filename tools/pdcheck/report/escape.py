"""Text from manifests made safe for terminals and CI logs.

Object names, messages, paths and directory names come from whoever wrote the manifests. Printed
raw, they can drive the terminal (ESC/CSI/OSC sequences: clear the screen, set the window title,
write the clipboard with OSC 52, hide text), forge lines (newlines, carriage returns), and run
GitHub Actions workflow commands from the log (`::add-mask::`, `::stop-commands::`, `::error ...`
at the start of a line, leading whitespace allowed; `##[command]` anywhere). printable() is used for
every human-readable output (text and github reporters, stderr) on every field that comes from input;
defuse_json() on the JSON and SARIF output, which CI logs show too.
"""

from __future__ import annotations

import re

# C0 and C1 controls, DEL, and the Unicode characters that break or reorder lines and hide text:
# NEL, line/paragraph separators, bidirectional overrides and isolates, zero-width joiners aside.
_NOT_C0 = "\x7f-\x9f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff"
_UNSAFE = re.compile(f"[\x00-\x1f{_NOT_C0}]")
_UNSAFE_BUT_LINE_BREAKS = re.compile(f"[\x00-\x09\x0b\x0c\x0e-\x1f{_NOT_C0}]")
_LEADING_COMMAND = re.compile(r"^(\s*):(?=:)")  # '::cmd' at the start of a line runs a workflow command
_V1_COMMAND = "##["


def _escape_char(match: re.Match) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: object, keep_line_breaks: bool = False) -> str:
    """`text` with control characters shown as \\xNN / \\uNNNN and CI log commands defused.

    keep_line_breaks: leave CR and LF to a format that encodes them itself (github's %0D/%0A)."""
    unsafe = _UNSAFE_BUT_LINE_BREAKS if keep_line_breaks else _UNSAFE
    out = unsafe.sub(_escape_char, str(text))
    out = _LEADING_COMMAND.sub(lambda m: m.group(1) + "\\x3a", out)
    return out.replace(_V1_COMMAND, "#\\x23[")


def defuse_json(text: str) -> str:
    """JSON text (json.dump escapes control characters) with `##[` written `#\\u0023[`: the same
    JSON value, but no legacy `##[command]` for a CI log that shows it."""
    return text.replace(_V1_COMMAND, "#\\u0023[")
