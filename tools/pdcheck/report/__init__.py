"""Reporter registry (check-jsonschema style): format name -> report(result, stream, color).

Every reporter takes the same arguments; the machine-readable formats ignore `color`.
"""

from __future__ import annotations

from typing import Callable, TextIO

from ..checker import RunResult
from . import github, json_report, junit, parsable, sarif, text

REPORTERS: dict[str, Callable[[RunResult, TextIO, bool], None]] = {
    "text": text.report,
    "json": json_report.report,
    "sarif": sarif.report,
    "github": github.report,
    "parsable": parsable.report,
    "junit": junit.report,
}
