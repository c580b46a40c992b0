"""What a rule is: metadata (kube-linter style, docs are generated from it) and a check function."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Iterable

from ..findings import Severity
from ..objects import DerivedObject, K8sObject

if TYPE_CHECKING:
    from ..checker import Context
    from ..model import Model


@dataclass
class Problem:
    """One thing a rule found; the engine turns it into a Finding (rule id, severity, location)."""

    obj: K8sObject | None
    path: tuple
    message: str  # what is wrong, one sentence
    fix: str  # what to do, one sentence
    # The most this finding can be, whatever the rule's (or the configured) severity: WARNING for
    # a version-dependent finding checked against a guessed catalog.
    at_most: Severity | None = None
    # Where the cause was written, for a problem of the kustomization itself rather than of a
    # rendered field (provenance.py): (role, file, line, text) steps; the first sets file and line.
    provenance: tuple = ()

    derived: DerivedObject | None = field(default=None, repr=False)  # set when reported at its wrapper

    def __post_init__(self):
        if isinstance(self.obj, DerivedObject):  # created by a controller from a wrapper: report at the wrapper
            self.derived = self.obj
            self.obj, self.path = self.obj.source(self.path)

    def ignores(self, rule_id: str) -> bool:
        """pdcheck.io/ignore on the object, or on the derived object it was found in (a DisaggregatedSet
        role's metadata.annotations, which its controller puts on the role's LeaderWorkerSet)."""
        return any(o is not None and o.ignores(rule_id) for o in (self.obj, self.derived))


@dataclass(frozen=True)
class Rule:
    """Defined as RULE in rules/<category>/<rule_id>.py: the category is the package's name."""

    id: str  # kebab-case
    severity: Severity
    summary: str
    doc: str  # why it matters, in Markdown
    links: tuple[str, ...]  # the source or issue that proves it
    check: Callable[["Model", "Context"], Iterable[Problem]] = field(repr=False)
    category: str = ""  # set by the registry (rules/__init__.py) from the package
