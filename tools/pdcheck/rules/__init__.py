"""The rule registry. Every rule is one module below this package that defines RULE.

The list is explicit (no import-time scanning) so the order of `pdcheck rules` and docs/rules.md
is stable and a missing module fails loudly.
"""

from __future__ import annotations

from importlib import import_module

from .base import Problem, Rule

RULE_MODULES = (
    # input and schema
    "schema_invalid",
    "schema_unknown_kind",
    "yaml_duplicate_key",
    # env and expansion
    "unresolved_variable",
    "shell_style_variable",
    # parallelism
    "tp_gpu_mismatch",
)

_rules: list[Rule] | None = None


def all_rules() -> list[Rule]:
    global _rules
    if _rules is None:
        _rules = [import_module(f"{__name__}.{name}").RULE for name in RULE_MODULES]
        ids = [r.id for r in _rules]
        assert len(ids) == len(set(ids)), "duplicate rule id"
    return _rules


def get_rule(rule_id: str) -> Rule | None:
    return next((r for r in all_rules() if r.id == rule_id), None)


__all__ = ["Problem", "Rule", "all_rules", "get_rule"]
