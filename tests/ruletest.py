"""Helpers for rule tests: the clean baseline deployment, one-defect mutations, running the rules.

    docs = baseline()
    set_flag(engine(docs, "r1-prefill"), "--tp-size", "8")
    assert rules_fired(docs) == {"tp-gpu-mismatch"}
"""

from __future__ import annotations

import copy
from functools import lru_cache
from pathlib import Path

import yaml

from pdcheck.checker import Context, Options, check_render, enabled_rules
from pdcheck.config import Config
from pdcheck.objects import Render
from pdcheck.render import objects_from_stream

FIXTURES = Path(__file__).resolve().parent / "fixtures"


@lru_cache(maxsize=None)
def _load(name: str) -> tuple:
    return tuple(yaml.safe_load_all((FIXTURES / name).read_text()))


def baseline(name: str = "baseline.yaml") -> list[dict]:
    """A fresh deep copy of a fixture's documents, safe to mutate."""
    return copy.deepcopy(list(_load(name)))


_CONTEXT = Context(Config(), None, [])  # schema validators compiled once for the whole session


def run_rules(docs: list[dict], sglang_version: str | None = None, router_version: str | None = None, config: Config | None = None):
    """Findings for these documents, as `pdcheck validate` would report them for one file."""
    text = yaml.safe_dump_all(docs, sort_keys=False)
    objects, non_objects = objects_from_stream(text, "test.yaml", None)
    render = Render("test.yaml", "file", objects, non_objects)
    ctx = _CONTEXT if config is None else Context(config, None, [])
    options = Options(paths=[], sglang_version=sglang_version, router_version=router_version)
    findings, _ = check_render(render, ctx, options, enabled_rules(ctx.config))
    return findings


def rules_fired(docs: list[dict], **kwargs) -> set[str]:
    return {f.rule for f in run_rules(docs, **kwargs)}


def find(docs: list[dict], kind: str, name: str) -> dict:
    return next(d for d in docs if d.get("kind") == kind and d["metadata"]["name"] == name)


def lws(docs: list[dict], name: str) -> dict:
    return find(docs, "LeaderWorkerSet", name)


def pod_spec(docs: list[dict], name: str) -> dict:
    """The pod spec of an LWS worker template, or of a Deployment's template."""
    obj = next(d for d in docs if d["metadata"]["name"] == name and d["kind"] in ("LeaderWorkerSet", "Deployment"))
    if obj["kind"] == "LeaderWorkerSet":
        return obj["spec"]["leaderWorkerTemplate"]["workerTemplate"]["spec"]
    return obj["spec"]["template"]["spec"]


def engine(docs: list[dict], name: str) -> dict:
    """The first container of a workload (the SGLang engine or the router)."""
    return pod_spec(docs, name)["containers"][0]


def _flag_index(args: list[str], flag: str) -> int | None:
    return args.index(flag) if flag in args else None


def set_flag(container: dict, flag: str, value: str | None = None) -> None:
    """Set `flag value` (or a bare boolean flag) in args, replacing an existing one."""
    args = container.setdefault("args", [])
    i = _flag_index(args, flag)
    if i is None:
        args.extend([flag] if value is None else [flag, value])
    elif value is not None:
        args[i + 1] = value


def drop_flag(container: dict, flag: str, takes_value: bool = True) -> None:
    args = container["args"]
    i = args.index(flag)
    del args[i : i + (2 if takes_value else 1)]


def set_env(container: dict, name: str, value: str) -> None:
    env = container.setdefault("env", [])
    for entry in env:
        if entry["name"] == name:
            entry["value"] = value
            return
    env.append({"name": name, "value": value})


def drop_env(container: dict, name: str) -> None:
    container["env"] = [e for e in container.get("env", []) if e["name"] != name]


def defect_tests(cases, fixture: str = "baseline.yaml"):
    """The two tests every rule-category module runs over its table of (id, mutation, rules).

    Use as `test_baseline_is_clean, test_defect_fires_its_rule_only = defect_tests(CASES)`.
    """
    import pytest

    def test_baseline_is_clean():
        assert rules_fired(baseline(fixture)) == set()

    @pytest.mark.parametrize("mutate, expected", [c[1:] for c in cases], ids=[c[0] for c in cases])
    def test_defect_fires_its_rule_only(mutate, expected):
        docs = baseline(fixture)
        mutate(docs)
        assert rules_fired(docs) == expected

    return test_baseline_is_clean, test_defect_fires_its_rule_only


def assert_modelling_changes_nothing(docs: list[dict], name: str = "test.yaml") -> None:
    """Building the model (adapters included) leaves the documents and the rendered objects as they were."""
    from pdcheck.model import build_model

    before = copy.deepcopy(docs)
    objects, _ = objects_from_stream(yaml.safe_dump_all(docs, sort_keys=False), name, None)
    snapshot = copy.deepcopy([o.doc for o in objects])
    build_model(Render(name, "file", objects, []))
    assert [o.doc for o in objects] == snapshot
    assert docs == before
