"""The Finding record every rule yields and every reporter prints."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Severity(str, Enum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"

    def capped(self, at_most: "Severity | None") -> "Severity":
        """This severity, lowered to `at_most` when that is lower."""
        order = (Severity.INFO, Severity.WARNING, Severity.ERROR)
        return self if at_most is None or order.index(self) <= order.index(at_most) else at_most


def format_path(path: tuple) -> str:
    """('spec', 'containers', 0, 'args', 3) -> 'spec.containers[0].args[3]'."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


@dataclass
class Finding:
    rule: str
    severity: Severity
    message: str  # what is wrong, one sentence
    fix: str = ""  # what to do, one sentence
    object: str = ""  # "Kind/name" (namespace-qualified when set)
    path: tuple = ()  # field path inside the object
    file: str | None = None
    line: int | None = None
    overlay: str | None = None
    # How the value was set (provenance.py): (role, file, line, text) steps, role one of 'set',
    # 'copied', 'used', 'listed' (a components: entry), 'caused' (a finding folded into this one).
    provenance: tuple = ()

    @property
    def path_text(self) -> str:
        return format_path(self.path)

    def sort_key(self):
        return (self.overlay or "", self.file or "", self.line or 0, self.object, self.rule, self.message)

    def to_dict(self) -> dict:
        return {
            "rule": self.rule,
            "severity": self.severity.value,
            "message": self.message,
            "fix": self.fix,
            "object": self.object,
            "path": self.path_text,
            "file": self.file,
            "line": self.line,
            "overlay": self.overlay,
            "provenance": [{"role": role, "file": file, "line": line, "text": text}
                           for role, file, line, text in self.provenance],
        }
