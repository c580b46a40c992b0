"""The command a `sh -c` / `bash -c` launcher script really runs, found the way the shell would.

Scripts are parsed with tree-sitter-bash (benchmarks/README.md: it parses every form met in
public manifests, including `$(( ))`, `case` and arrays, which bashlex 0.18 rejects, and imports
in ~50 ms against bashlex's ~400 ms; it is imported only when a container runs a shell script).

What is expanded, and what stays opaque:
- `$VAR`, `${VAR}` from the container's environment (env, envFrom, what LeaderWorkerSet injects),
  variables the script assigns before the command, `$HOSTNAME` (the pod's hostname) and the
  positional parameters of `sh -c SCRIPT $0 $1 ...`; `${VAR:-x}` and friends, `${VAR#pat}`,
  `${VAR%pat}`; unquoted values are split into words as the shell does.
- Everything else (`$(command)`, backticks, `$(( ))`, a variable the image may define, a Secret)
  becomes an opaque word `<...>` holding the source text: `model.known_at_render` is False for it,
  so rules never type-check it.

The launch command is the one simple command that starts a known program, wherever it sits
(after `;`, `&&`, in a pipeline, an `if` branch whose test can be decided, a function the script
calls). Several different ones, or none in a script that names SGLang, or a syntax error: the
script is "not understood", and `LaunchScript.problem` says why in one sentence.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Callable

# A variable the pod defines but whose value only the running pod knows (a Secret, a fieldRef).
OPAQUE = object()
_SHELLS = re.compile(r"^(?:.*/)?(?:ba|da|z|k|a)?sh$")
_ASSIGNMENT_COMMANDS = ("export", "declare", "typeset", "local", "readonly")
_MAX_CALL_DEPTH = 8


@dataclass
class ShellInvocation:
    script_index: int  # argv index of the script
    script: str
    positional: list[str]  # $0, $1, ... (the argv items after the script)


@dataclass
class LaunchScript:
    words: list[str] | None  # the launch command's words, expanded; None when not found
    problem: str | None = None  # why the script is not understood; None when it is (or names no SGLang)


def shell_invocation(argv: list[str]) -> ShellInvocation | None:
    """`sh -c SCRIPT [$0 [$1 ...]]` (also `bash -ec`, `bash -o pipefail -c`, `/bin/sh -lc`,
    `/usr/bin/env bash -c`), else None."""
    start = 1 if argv and argv[0].rsplit("/", 1)[-1] == "env" else 0
    if len(argv) <= start or not _SHELLS.match(argv[start]):
        return None
    i = start + 1
    while i < len(argv) and argv[i].startswith(("-", "+")) and argv[i] != "--":
        option = argv[i]
        if option in ("-o", "+o", "-O", "+O"):
            i += 2
            continue
        if option.startswith("-") and not option.startswith("--") and "c" in option[1:]:
            if i + 1 < len(argv):
                return ShellInvocation(i + 1, argv[i + 1], argv[i + 2:])
            return None
        i += 1
    return None


# What in a script's text shows it means to start SGLang or its router (a path or a `pip install
# sglang` alone does not).
_LAUNCH_TEXT = re.compile(r"sglang\.launch_server|sglang_router|sglang\.cli\.main|dynamo\.sglang"
                          r"|\bsglang(?:-router)?\s+(?:serve|launch)\b|\b(?:smg|amg)\s+launch\b")


def is_shell(program: str) -> bool:
    """'sh', '/bin/bash', 'zsh', ... (a path or a `#!` interpreter)."""
    return _SHELLS.match(program) is not None


def shebang_is_shell(text: str) -> bool:
    """The file starts with `#!/bin/sh`, `#!/bin/bash -e`, `#!/usr/bin/env bash`, ..."""
    if not text.startswith("#!"):
        return False
    parts = text[2:].partition("\n")[0].split()
    if parts and parts[0].rsplit("/", 1)[-1] == "env":
        parts = parts[1:]
    return bool(parts) and is_shell(parts[0])


def mentions_sglang(script: str) -> bool:
    return _LAUNCH_TEXT.search(script) is not None


def find_launch(script: str, lookup: Callable[[str], object], positional: list[str],
                program_of: Callable[[list[str]], str | None]) -> LaunchScript:
    """The words of the command in `script` that starts a program `program_of` recognises.

    `lookup(name)` gives a variable's value: a str, OPAQUE (set, value unknown before the pod
    runs) or None (the pod does not define it; the image might).
    """
    tree = _parser().parse(script.encode("utf-8", "surrogateescape"))
    if tree.root_node.has_error:
        if not mentions_sglang(script):
            return LaunchScript(None)
        where = _first_error(tree.root_node)
        return LaunchScript(None, f"the shell script has a syntax error near line {where}, so the shell would not run it")
    runner = _Runner(script.encode("utf-8", "surrogateescape"), lookup, positional, program_of)
    try:
        runner.walk(tree.root_node)
    except RecursionError:
        return LaunchScript(None, "the shell script is nested too deeply to follow" if mentions_sglang(script) else None)
    distinct = []
    for words in runner.candidates:
        if words not in distinct:
            distinct.append(words)
    if len(distinct) == 1:
        return LaunchScript(distinct[0])
    if len(distinct) > 1:
        programs = sorted({program_of(w) or "?" for w in distinct})
        return LaunchScript(None, f"the shell script has {len(distinct)} different {'/'.join(programs)} launch commands "
                                  "(side by side, or in branches only the running pod can decide)")
    if runner.unknown_commands and mentions_sglang(script):
        return LaunchScript(None, "the shell script names SGLang but starts it through something pdcheck cannot "
                                  f"follow ({runner.unknown_commands[0]})")
    if mentions_sglang(script):
        return LaunchScript(None, "the shell script names SGLang but none of its commands is a launch pdcheck "
                                  "recognises (`python3 -m sglang.launch_server`, `sglang serve`, "
                                  "`python3 -m sglang_router.launch_router`, ...)")
    return LaunchScript(None)


_PARSER = None


def _parser():
    global _PARSER
    if _PARSER is None:
        import tree_sitter
        import tree_sitter_bash

        _PARSER = tree_sitter.Parser(tree_sitter.Language(tree_sitter_bash.language()))
    return _PARSER


def _first_error(node) -> int:
    """Line (1-based) of the first ERROR or missing node, in source order."""
    stack = [node]
    while stack:
        n = stack.pop()
        if n.type == "ERROR" or n.is_missing:
            return n.start_point[0] + 1
        stack.extend(reversed(n.children))
    return node.start_point[0] + 1


def _unescape_unquoted(text: str) -> str:
    text = text.replace("\\\n", "")
    return re.sub(r"\\(.)", r"\1", text, flags=re.S)


def _unescape_double_quoted(text: str) -> str:
    text = text.replace("\\\n", "")
    return re.sub(r"\\([\\\"$`])", r"\1", text)


class _Runner:
    """Walks the script in execution order, tracking assignments, collecting launch commands."""

    def __init__(self, source: bytes, lookup, positional: list[str], program_of):
        self.source = source
        self.lookup = lookup
        self.positional = list(positional)
        self.program_of = program_of
        self.assigned: dict[str, object] = {}
        self.functions: dict[str, object] = {}
        self.candidates: list[list[str]] = []
        self.unknown_commands: list[str] = []
        self.depth = 0

    def text(self, node) -> str:
        return self.source[node.start_byte:node.end_byte].decode("utf-8", "surrogateescape")

    # --- statements ----------------------------------------------------------------------------

    def walk(self, node) -> None:
        kind = node.type
        if kind == "command":
            self.command(node)
        elif kind == "variable_assignment":
            self.assign(node)
        elif kind == "declaration_command":
            for child in node.named_children:
                if child.type == "variable_assignment":
                    self.assign(child)
        elif kind == "function_definition":
            name = node.child_by_field_name("name")
            body = node.child_by_field_name("body")
            if name is not None and body is not None:
                self.functions[self.text(name)] = body
        elif kind == "if_statement":
            self.if_statement(node)
        elif kind in ("command_substitution", "process_substitution", "arithmetic_expansion", "heredoc_body",
                      "comment", "test_command"):
            return
        else:  # program, list, pipeline, subshell, compound_statement, redirected_statement, loops, case
            for child in node.named_children:
                self.walk(child)

    def if_statement(self, node) -> None:
        """Walk the branch the test picks; every branch when the test cannot be decided here."""
        branches = []  # (condition nodes, body nodes)
        current = ([], [])
        seen_then = False
        for child in node.children:
            if child.type in ("elif_clause", "else_clause"):
                continue
            if child.type == "then":
                seen_then = True
            elif child.is_named:
                (current[1] if seen_then else current[0]).append(child)
        branches.append(current)
        for clause in node.named_children:
            if clause.type == "elif_clause":
                cond, body, then = [], [], False
                for child in clause.children:
                    if child.type == "then":
                        then = True
                    elif child.is_named:
                        (body if then else cond).append(child)
                branches.append((cond, body))
            elif clause.type == "else_clause":
                branches.append(([], list(clause.named_children)))
        for cond, body in branches:
            verdict = self.test(cond) if cond else True
            if verdict is False:
                continue
            for statement in body:
                self.walk(statement)
            if verdict is True:
                return

    def test(self, nodes) -> bool | None:
        """`[ a = b ]`, `[[ a != b ]]`, `[ a -eq b ]` when both sides are known; else None."""
        if len(nodes) != 1 or nodes[0].type != "test_command" or len(nodes[0].named_children) != 1:
            return None
        expr = nodes[0].named_children[0]
        operands = [c for c in expr.named_children if c.type != "test_operator"]
        if expr.type != "binary_expression" or len(operands) != 2:
            return None
        operator = next((self.text(c) for c in expr.children if not c.is_named or c.type == "test_operator"), None)
        left, right = (self.word(c) for c in operands)
        if left is None or right is None or len(left) != 1 or len(right) != 1:
            return None
        a, b = left[0], right[0]
        if a.startswith("<") or b.startswith("<"):
            return None
        if operator in ("=", "=="):
            return a == b
        if operator == "!=":
            return a != b
        numeric = {"-eq": int.__eq__, "-ne": int.__ne__, "-lt": int.__lt__, "-le": int.__le__,
                   "-gt": int.__gt__, "-ge": int.__ge__}
        if operator in numeric and re.fullmatch(r"-?\d+", a) and re.fullmatch(r"-?\d+", b):
            return numeric[operator](int(a), int(b))
        return None

    def assign(self, node) -> None:
        name_node = node.child_by_field_name("name")
        value_node = node.child_by_field_name("value")
        if name_node is None or name_node.type != "variable_name":
            return
        if value_node is None:
            self.assigned[self.text(name_node)] = ""
            return
        words = self.word(value_node, split=False)
        self.assigned[self.text(name_node)] = OPAQUE if words is None or _opaque(" ".join(words)) else " ".join(words)

    def command(self, node) -> None:
        words: list[str] = []
        for child in node.named_children:
            if child.type in ("variable_assignment", "file_redirect", "heredoc_redirect", "herestring_redirect"):
                continue
            target = child.named_children[0] if child.type == "command_name" and child.named_children else child
            expanded = self.word(target)
            if expanded is None:
                return
            words.extend(expanded)
        if not words:
            return
        if words[0] in self.functions and self.depth < _MAX_CALL_DEPTH:
            saved = self.positional
            self.positional = [self.positional[0] if self.positional else "sh"] + words[1:]
            self.depth += 1
            self.walk(self.functions[words[0]])
            self.depth -= 1
            self.positional = saved
            return
        if self.program_of(words):
            self.candidates.append(words)
        elif words[0] in ("eval", "source", ".") or _opaque(words[0]):
            self.unknown_commands.append(" ".join(self.text(node).split())[:60])

    # --- words ---------------------------------------------------------------------------------

    def word(self, node, split: bool = True) -> list[str] | None:
        """The fields one word node expands to (opaque parts as `<source>`)."""
        segments = self.segments(node, quoted=False)
        if segments is None:
            return None
        if len(segments) == 1 and isinstance(segments[0], list):  # "$@"
            return list(segments[0])
        fields: list[str] = []
        current: str | None = None
        for segment in segments:
            if isinstance(segment, list):  # $@ inside a longer word: join like $*
                segment = (" ".join(segment), True)
            text, splittable = segment
            if not splittable or not split:
                current = (current or "") + text
                continue
            parts = re.split(r"[ \t\n]+", text)
            for i, part in enumerate(parts):
                if i > 0 and current is not None:
                    fields.append(current)
                    current = None
                if part:
                    current = (current or "") + part
        if current is not None:
            fields.append(current)
        return fields

    def segments(self, node, quoted: bool):
        """[(text, splittable)] pieces of a word; a list of fields for "$@"."""
        kind = node.type
        if kind in ("word", "number", "regex", "extglob_pattern"):
            text = self.text(node)
            return [(text if quoted else _unescape_unquoted(text), False)]
        if kind == "raw_string":
            return [(self.text(node)[1:-1], False)]
        if kind == "string_content":
            return [(_unescape_double_quoted(self.text(node)), False)]
        if kind == "string":
            return self.string(node)
        if kind == "concatenation":
            out = []
            for child in node.children:
                part = self.segments(child, quoted)
                if part is None:
                    return None
                out.extend(part)
            return out
        if kind == "simple_expansion":
            return self.variable(self.text(node)[1:], quoted)
        if kind == "expansion":
            return self.expansion(node, quoted)
        # $(command), `command`, $(( )), ansi-c strings, arrays, brace expansion: only the pod knows
        return [(f"<{self.text(node)}>", False)]

    def string(self, node):
        out = [("", False)]  # "" is one (empty) field
        position = node.start_byte + 1
        end = node.end_byte - 1
        for child in node.named_children:
            if child.start_byte > position:
                out.append((_unescape_double_quoted(self.source[position:child.start_byte].decode("utf-8", "surrogateescape")), False))
            part = self.segments(child, quoted=True)
            if part is None:
                return None
            if len(node.named_children) == 1 and part and isinstance(part[0], list):
                return part  # "$@": one field per positional parameter
            out.extend(part)
            position = child.end_byte
        if end > position:
            out.append((_unescape_double_quoted(self.source[position:end].decode("utf-8", "surrogateescape")), False))
        return out

    def value_of(self, name: str) -> object:
        if name in self.assigned:
            return self.assigned[name]
        if name.isdigit():
            index = int(name)
            return self.positional[index] if index < len(self.positional) else ""
        return self.lookup(name)

    def variable(self, name: str, quoted: bool):
        if name == "@" or name == "*":
            params = self.positional[1:]
            if name == "@" and quoted:
                return [params]
            return [(" ".join(params), not quoted)]
        if name == "#":
            return [(str(max(len(self.positional) - 1, 0)), False)]
        value = self.value_of(name)
        if isinstance(value, str):
            return [(value, not quoted)]
        return [(f"<${name}>", False)]

    def expansion(self, node, quoted: bool):
        """${NAME}, ${NAME:-word}, ${NAME-word}, ${NAME:+word}, ${NAME#pat}, ${NAME%%pat}, ..."""
        source = self.text(node)
        opaque = [(f"<{source}>", False)]
        children = [c for c in node.children if c.type not in ("${", "}")]
        if not children or children[0].type not in ("variable_name", "special_variable_name"):
            return opaque  # ${#NAME}, ${!NAME}, arrays
        name = self.text(children[0])
        rest = children[1:]
        if not rest:
            return self.variable(name, quoted)
        operator = self.text(rest[0]) if not rest[0].is_named else None
        operand_nodes = rest[1:]
        if operator is None or any(c.type in ("subscript",) for c in rest):
            return opaque
        value = self.value_of(name)
        if operator in (":-", "-", ":=", "=", ":+", "+", ":?", "?"):
            unset = value is None or (operator.startswith(":") and value == "")
            if value is OPAQUE:
                return opaque
            if operator in (":+", "+"):
                return self.operand(operand_nodes, quoted) if not unset else [("", False)]
            if unset and operator in (":-", "-", ":=", "="):
                return self.operand(operand_nodes, quoted)
            if unset:
                return opaque  # ${X:?msg}: the shell exits
            return [(value, not quoted)]
        if operator in ("#", "##", "%", "%%") and isinstance(value, str):
            pattern = self.operand(operand_nodes, True)
            if pattern is None or any(isinstance(p, list) or _opaque(p[0]) for p in pattern):
                return opaque
            return [(_strip(value, "".join(p[0] for p in pattern), operator), not quoted)]
        return opaque

    def operand(self, nodes, quoted: bool):
        out = []
        for child in nodes:
            part = self.segments(child, quoted)
            if part is None:
                return None
            out.extend(part)
        return out or [("", False)]


def _opaque(text: str) -> bool:
    return "<" in text


def _strip(value: str, pattern: str, operator: str) -> str:
    """${value#pattern} and friends, with glob patterns."""
    n = len(value)
    if operator in ("#", "##"):
        order = range(n + 1) if operator == "#" else range(n, -1, -1)
        for i in order:
            if fnmatchcase(value[:i], pattern):
                return value[i:]
        return value
    order = range(n, -1, -1) if operator == "%" else range(n + 1)
    for i in order:
        if fnmatchcase(value[i:], pattern):
            return value[:i]
    return value
