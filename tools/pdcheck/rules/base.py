"""What a rule is: metadata (kube-linter style, docs are generated from it) and a check function."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Iterable

from ..findings import Severity
from ..objects import K8sObject

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
