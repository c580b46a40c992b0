"""The rule registry: one package per category, one module per rule, each defining RULE.

A rule's module is named after its id (`tp-gpu-mismatch` -> parallelism/tp_gpu_mismatch.py) and its
category is the package's name. Every category package lists its modules in MODULES; the order here
and there is the order of `pdcheck rules` and docs/rules.md. Explicit lists (no import-time
scanning) keep that order stable and make a missing module fail loudly.
"""

from __future__ import annotations

from dataclasses import replace
from importlib import import_module

from .base import Problem, Rule

CATEGORIES = ("schema", "env", "parallelism", "pairing", "network", "router", "rdma", "pods", "flags", "security",
              "availability", "capacity")

_rules: list[Rule] | None = None


def all_rules() -> list[Rule]:
    global _rules
    if _rules is None:
        rules = []
        for category in CATEGORIES:
            package = import_module(f"{__name__}.{category}")
            for name in package.MODULES:
                rule = import_module(f"{__name__}.{category}.{name}").RULE
                assert rule.id.replace("-", "_") == name, f"rule {rule.id} is defined in {category}/{name}.py"
                rules.append(replace(rule, category=category))
        ids = [r.id for r in rules]
        duplicates = {i for i in ids if ids.count(i) > 1}
        assert not duplicates, f"duplicate rule ids: {duplicates}"
        _rules = rules
    return _rules


def get_rule(rule_id: str) -> Rule | None:
    return next((r for r in all_rules() if r.id == rule_id), None)


def nearest_rule_id(rule_id: str) -> str | None:
    """The rule id `rule_id` is probably a misspelling of, if any."""
    import difflib

    close = difflib.get_close_matches(rule_id, [r.id for r in all_rules()], n=1, cutoff=0.6)
    return close[0] if close else None


def unknown_rule_message(rule_id: str) -> str | None:
    """None for a rule pdcheck has; otherwise the message that says so, with the nearest id."""
    if get_rule(rule_id) is not None:
        return None
    nearest = nearest_rule_id(rule_id)
    hint = f"; did you mean {nearest!r}?" if nearest else ""
    return f"unknown rule {rule_id!r}{hint} (see `pdcheck rules`)"


__all__ = ["Problem", "Rule", "all_rules", "get_rule", "nearest_rule_id", "unknown_rule_message"]
