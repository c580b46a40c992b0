"""The pipeline: inputs -> render -> model -> rules -> findings (reporters print them)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from . import __version__
from .config import Config, load_config, locate_config
from .discover import resolve_inputs
from .errors import InputError
from .findings import Finding, Severity

# Imported where used: a run answered from the results cache (checkcache.py) needs none of the
# model, renderer, schemas or rules, and skipping their imports is most of its time.
if TYPE_CHECKING:
    from .model import Model
    from .objects import Render
    from .rules.base import Rule

INTERNAL_ERROR_RULE = "pdcheck-internal-error"


@dataclass
class Options:
    paths: list[str]
    k8s_versions: list[str] | None = None
    crds: list[str] = field(default_factory=list)
    sglang_version: str | None = None
    router_version: str | None = None
    kustomize: str | None = None
    config_path: str | None = None
    jobs: int | None = None
    cache_dir: str | None = None  # render cache location (default: see cache.open_cache)
    no_cache: bool = False
    allow_remote: bool = False  # let kustomize fetch remote targets (default: refuse them, remote.py)
    inputs: list | None = None  # already resolved (the CLI resolves first to say what it found)


@dataclass
class Context:
    """Shared across renders: configuration and the (expensive, compiled-once) schema validator."""

    config: Config
    k8s_versions: list[str] | None
    crd_files: list[Path]
    _schema: object = None
    _schema_issues: dict = field(default_factory=dict)

    @property
    def schema(self):
        if self._schema is None:
            from .schema import SchemaValidator

            self._schema = SchemaValidator(self.k8s_versions, self.crd_files)
        return self._schema

    def schema_issues(self, obj) -> list:
        """Schema issues of one object, computed once however many rules ask."""
        # Keyed by id (objects are unhashable); the object is kept with its issues so that its id
        # cannot be reused by another object while the entry exists (a stale hit otherwise).
        entry = self._schema_issues.get(id(obj))
        if entry is None or entry[0] is not obj:
            entry = self._schema_issues[id(obj)] = (obj, self.schema.validate(obj.doc))
        return entry[1]


@dataclass
class RunResult:
    version: str
    inputs: list[str]
    findings: list[Finding]
    suppressed: int
    renders: list[Render]  # the renders this run made (none for inputs answered from the results cache)
    enabled_rules: list[Rule] | Callable[[], list[Rule]]  # a callable: worked out when a reporter asks

    @property
    def rules(self) -> list[Rule]:
        """The rules that ran (or would have: the results cache skips them)."""
        if callable(self.enabled_rules):
            self.enabled_rules = self.enabled_rules()
        return self.enabled_rules

    def count(self, severity: Severity) -> int:
        return sum(1 for f in self.findings if f.severity == severity)


def enabled_rules(config: Config) -> list[tuple[Rule, Severity]]:
    from .rules import all_rules

    out = []
    for rule in all_rules():
        severity = config.rule_severity.get(rule.id, rule.severity)
        if severity is not None:
            out.append((rule, severity))
    return out


def _config(options: Options) -> Config:
    from .rules import all_rules

    return load_config(locate_config(options.config_path, options.paths), {r.id for r in all_rules()})


def make_context(options: Options) -> Context:
    config = _config(options)
    versions = options.k8s_versions or config.k8s_versions
    crds = [Path(c) for c in options.crds] + list(config.crds)
    ctx = Context(config, versions, crds)
    from .schema import SchemaSetupError

    try:
        ctx.schema  # fail early (exit 2) on a bad --k8s-version or unreadable CRD
    except SchemaSetupError as exc:
        raise InputError(None, str(exc)) from None
    return ctx


def check_render(render: Render, ctx: Context, options: Options, rules: list[tuple[Rule, Severity]]) -> tuple[list[Finding], int]:
    return render_findings(render, run_rules(render, ctx, options, rules))


def run_rules(render: Render, ctx: Context, options: Options, rules: list[tuple[Rule, Severity]]) -> list:
    """Model the render and run the rules: (rule, severity, problems) per rule, or a Finding for a rule that crashed."""
    from .model import build_model

    try:
        model = build_model(render, _catalog_versions(options, ctx.config))
    except Exception as exc:  # a model bug: one finding for the render instead of a traceback
        return [Finding(
            INTERNAL_ERROR_RULE, Severity.ERROR,
            f"pdcheck could not model this input ({type(exc).__name__}: {exc})",
            "report this as a pdcheck bug with the input that triggers it", overlay=render.name,
        )]
    results = []
    for rule, severity in rules:
        try:
            problems = list(rule.check(model, ctx))
        except Exception as exc:  # a rule bug must not hide the other findings or print a traceback
            results.append(Finding(
                INTERNAL_ERROR_RULE, Severity.ERROR,
                f"rule {rule.id} failed on this input ({type(exc).__name__}: {exc})",
                "report this as a pdcheck bug with the input that triggers it", overlay=render.name,
            ))
            continue
        results.append((rule, severity, problems))
    return results


def _needs_origins(results: list) -> bool:
    """Whether some unsuppressed problem points into an object (and so needs its file)."""
    return any(p.obj is not None and not p.obj.ignores(rule.id)
               for rule, _, problems in (r for r in results if not isinstance(r, Finding)) for p in problems)


def render_findings(render: Render, results: list) -> tuple[list[Finding], int]:
    """Findings (with file and line) of run_rules' results, and how many were suppressed."""
    from .render import ensure_origins
    from .sources import locate

    findings, suppressed = [], 0
    for result in results:
        if isinstance(result, Finding):
            findings.append(result)
            continue
        rule, severity, problems = result
        for p in problems:
            if p.obj is not None and p.obj.ignores(rule.id):
                suppressed += 1
                continue
            if p.obj is not None:
                ensure_origins(render)  # overlays are built without origins until a finding needs one
            file, line = locate(p.obj, p.path) if p.obj is not None else (render.name if render.source != "kustomize" else None, None)
            findings.append(Finding(
                rule.id, severity, p.message, p.fix,
                object=p.obj.ref if p.obj is not None else "", path=p.path,
                file=file, line=line, overlay=render.name, subject=p.obj,
            ))
    return findings, suppressed


def build_models(options: Options) -> tuple[list[Model], Context]:
    """Render and model every input (for `pdcheck render --effective`)."""
    from .model import build_model
    from .render import render_all

    ctx = make_context(options)
    inputs = resolve_inputs(options.paths)
    _refuse_remote(options, inputs)
    renders = render_all(inputs, options.kustomize, options.jobs, _cache(options), lazy_origins=True)
    versions = _catalog_versions(options, ctx.config)
    return [build_model(r, versions) for r in renders], ctx


def _catalog_versions(options: Options, config: Config) -> dict:
    """The flag catalog versions the options or configuration pin (None: the image tag decides)."""
    return {
        "sglang": options.sglang_version or config.sglang_version,
        "sglang-router": options.router_version or config.router_version,
    }


def _refuse_remote(options: Options, inputs: list):
    """The KustomizationReader that checked the closures (None with --allow-remote)."""
    if not options.allow_remote:
        from .remote import refuse_remote

        return refuse_remote(inputs)
    return None


def _cache(options: Options):
    from .cache import open_cache

    return open_cache(options.cache_dir, options.no_cache)


def run(options: Options) -> RunResult:
    from .kustomize import kustomize_command

    inputs = options.inputs if options.inputs is not None else resolve_inputs(options.paths)
    reader = _refuse_remote(options, inputs)
    cache = _cache(options)
    stored, done = None, {}
    if cache is not None:
        from .checkcache import CheckCache

        command = kustomize_command(options.kustomize) if any(i.kind == "kustomize" for i in inputs) else None
        stored = CheckCache(cache, options, inputs, command, reader)
        done = stored.lookup()  # input index -> (findings, suppressed)
    todo = [index for index in range(len(inputs)) if index not in done]
    renders, rules = [], None
    if todo:
        checked, renders, rules = _check(options, [inputs[i] for i in todo], cache, stored.hasher if stored else None)
        for index, result in zip(todo, checked):
            done[index] = result
            if stored is not None:
                stored.store(index, *result)
    findings = sorted((f for index in range(len(inputs)) for f in done[index][0]), key=Finding.sort_key)
    suppressed = sum(done[index][1] for index in range(len(inputs)))
    enabled = [r for r, _ in rules] if rules is not None else lambda: [r for r, _ in enabled_rules(_config(options))]
    return RunResult(__version__, [i.display for i in inputs], findings, suppressed, renders, enabled)


def _check(options: Options, inputs: list, cache, hasher) -> tuple[list[tuple[list[Finding], int]], list[Render], list]:
    """Render and check inputs: (findings, suppressed) per input, the renders, the enabled rules."""
    from .render import render_iter

    # Builds start now, in worker threads; setting up the checker and checking each render overlap them.
    with render_iter(inputs, options.kustomize, options.jobs, cache, lazy_origins=True, hasher=hasher) as pending:
        ctx = make_context(options)
        rules = enabled_rules(ctx.config)
        checked = []
        for render in pending:
            results = run_rules(render, ctx, options, rules)
            if _needs_origins(results):
                pending.prefetch_origins(render)  # builds with origin annotations while the rest is checked
            checked.append((render, results))
        return [render_findings(render, results) for render, results in checked], [r for r, _ in checked], rules
