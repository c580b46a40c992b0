"""Kubelet's $(VAR) expansion, ported from k8s.io/kubernetes third_party/forked/golang/expansion.

`$(NAME)` is replaced from the mapping; `$$` is an escaped `$`; an unknown `$(NAME)` stays literal;
a `$` that starts nothing stays as written. Shell forms (`$NAME`, `${NAME}`) are not expanded.
"""

from __future__ import annotations

from typing import Callable


def expand(text: str, lookup: Callable[[str], str | None], unresolved: list[str] | None = None) -> str:
    """Expand like kubelet. Names `lookup` cannot resolve are appended to `unresolved`."""
    if "$" not in text:
        return text
    out = []
    checkpoint = 0
    cursor = 0
    n = len(text)
    while cursor < n:
        if text[cursor] == "$" and cursor + 1 < n:
            out.append(text[checkpoint:cursor])
            read, is_var, advance = _read_variable_name(text, cursor + 1)
            if is_var:
                value = lookup(read)
                if value is None:
                    if unresolved is not None:
                        unresolved.append(read)
                    out.append(f"$({read})")
                else:
                    out.append(value)
            else:
                out.append(read)
            cursor += advance
            checkpoint = cursor + 1
        cursor += 1
    out.append(text[checkpoint:])
    return "".join(out)


def _read_variable_name(text: str, start: int) -> tuple[str, bool, int]:
    first = text[start]
    if first == "$":  # escaped: $$ -> $
        return "$", False, 1
    if first == "(":
        close = text.find(")", start + 1)
        if close != -1:
            return text[start + 1 : close], True, close - start + 1
        return "$(", False, 1  # incomplete reference: operator and opener kept
    return "$" + first, False, 1
