"""Kubelet's $(VAR) expansion, ported from k8s.io/kubernetes third_party/forked/golang/expansion.

`$(NAME)` is replaced from the mapping; `$$` is an escaped `$`; an unknown `$(NAME)` stays literal;
a `$` that starts nothing stays as written. Shell forms (`$NAME`, `${NAME}`) are not expanded.
"""

from __future__ import annotations

import re
from typing import Callable

# What can be an environment variable's name. Anything else inside `$( )` (`$((1 + 2))`,
# `$(hostname -i)`) is no kubelet reference: kubelet leaves it as written, for a shell to run.
_ENV_NAME = re.compile(r"^[-._a-zA-Z][-._a-zA-Z0-9]*$")
# Inside a `sh -c` script `$(name)` is also the shell's command substitution; only names written
# like environment variables (upper case) are taken for a reference kubelet failed to resolve.
_SCRIPT_ENV_NAME = re.compile(r"^[A-Z_][A-Z0-9_]*$")


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


def is_variable_reference(name: str, in_script: bool = False) -> bool:
    """Whether `$(name)` that kubelet left unexpanded was meant as a variable reference."""
    return bool((_SCRIPT_ENV_NAME if in_script else _ENV_NAME).match(name))
