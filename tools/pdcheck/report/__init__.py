"""Reporter registry (check-jsonschema style): format name -> function(result, stream, color)."""

from __future__ import annotations

from typing import Callable, TextIO

from ..checker import RunResult


def _text(result, stream, color):
    from .text import report
    report(result, stream, color)


def _json(result, stream, color):
    from .json_report import report
    report(result, stream)


def _sarif(result, stream, color):
    from .sarif import report
    report(result, stream)


def _github(result, stream, color):
    from .github import report
    report(result, stream)


REPORTERS: dict[str, Callable[[RunResult, TextIO, bool], None]] = {
    "text": _text,
    "json": _json,
    "sarif": _sarif,
    "github": _github,
}
