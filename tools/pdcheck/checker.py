"""The pipeline of `pdcheck validate`: discover -> render -> model -> check -> locate -> report.

run() reads the configuration once; then each stage hands plain data to the next. discover turns
the paths into Inputs (discover.py; the CLI does it first, to say what it found), and an overlay
whose kustomization closure names a remote target becomes an input error before anything renders
(remote.py); the results cache answers the Inputs whose findings are stored (checkcache.py) and only
the others go on; render builds each into a Render (render.Renderer: kustomize on worker threads,
the render cache behind it); model turns a Render into a Model (model.py; wrapper kinds through
adapters/); check runs the enabled rules on the Model and, when a problem points into an object,
asks the renderer for that render's origins (a Future: the annotated build runs while the rest is
checked); locate turns the problems into Findings with file and line (sources.py) and, for values
set through kustomize's machinery, the line that set them (provenance.py), which the results cache
stores; report prints the RunResult (cli.py, report/). An input that cannot be read or built is an
input error of its own and hides no other. No stage changes what an earlier one produced.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
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
    from concurrent.futures import Future

    from .model import Model
    from .objects import Origin, Render
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
    input_errors: list = field(default_factory=list)  # the paths that resolved to no input, when already resolved
    enable: list[str] = field(default_factory=list)  # --enable RULE: on at its default severity, whatever the configuration says
    disable: list[str] = field(default_factory=list)  # --disable RULE: off
    progress: Callable[[str], None] | None = None  # told each input's name as it is checked


@dataclass
class Context:
    """What the rules see besides the model: configuration and the (expensive, compiled-once) schema validator."""

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
    # Inputs that could not be checked (a path that names nothing, YAML that does not parse, a
    # failed kustomize build): each reported in every format, the run exits 2. The others are checked.
    input_errors: list[InputError] = field(default_factory=list)
    kinds: list[str] = field(default_factory=list)  # per input: 'kustomize' | 'file' | 'stdin'

    @property
    def rules(self) -> list[Rule]:
        """The rules that ran (or would have: the results cache skips them)."""
        if callable(self.enabled_rules):
            self.enabled_rules = self.enabled_rules()
        return self.enabled_rules

    def count(self, severity: Severity) -> int:
        return sum(1 for f in self.findings if f.severity == severity)


@dataclass
class Checked:
    """What check gives locate for one render: each rule's problems (or an internal-error Finding
    for a rule or model that crashed) and, when a problem points into an object, the Future of
    the render's origins."""

    render: Render
    results: list
    origins: Future | None = None
    model: Model | Finding | None = None  # for provenance (where a value that reached the pod was set)


# --- configuration --------------------------------------------------------------------------------

def load_run_config(options: Options) -> Config:
    """The configuration of a run, read once. Its rule ids are checked by enabled_rules()."""
    return load_config(locate_config(options.config_path, options.paths))


def enabled_rules(config: Config, options: Options | None = None) -> list[tuple[Rule, Severity]]:
    """The rules that run and their severity: the configuration's, then --enable/--disable."""
    from .rules import all_rules

    rules = all_rules()
    config.check_rule_ids({rule.id for rule in rules})
    enable, disable = (options.enable, options.disable) if options is not None else ((), ())
    out = []
    for rule in rules:
        severity = config.rule_severity.get(rule.id, rule.severity)
        if rule.id in enable:
            severity = severity or rule.severity
        if rule.id in disable:
            severity = None
        if severity is not None:
            out.append((rule, severity))
    return out


def make_context(config: Config, options: Options) -> Context:
    versions = options.k8s_versions or config.k8s_versions
    crds = [Path(c) for c in options.crds] + list(config.crds)
    ctx = Context(config, versions, crds)
    from .schema import SchemaSetupError

    try:
        ctx.schema  # fail early (exit 2) on a bad --k8s-version or unreadable CRD
    except SchemaSetupError as exc:
        raise InputError(None, str(exc)) from None
    return ctx


def _catalog_versions(options: Options, config: Config) -> dict:
    """The flag catalog versions the options or configuration pin (None: the image tag decides)."""
    return {
        "sglang": options.sglang_version or config.sglang_version,
        "sglang-router": options.router_version or config.router_version,
    }


def _refuse_remote(options: Options, inputs: list):
    """Refuse remote references before anything renders (remote.py); returns the
    KustomizationReader that resolved the closures (None with --allow-remote)."""
    if not options.allow_remote:
        from .remote import refuse_remote

        return refuse_remote(inputs)
    return None


def _remote_errors(options: Options, inputs: list) -> tuple:
    """(reader or None, the inputs without remote references, an InputError per input with one)."""
    if options.allow_remote:
        return None, inputs, []
    from .remote import remote_errors

    reader, refused = remote_errors(inputs)
    bad = {id(item) for item, _ in refused}
    return reader, [i for i in inputs if id(i) not in bad], [error for _, error in refused]


# --- the stages -----------------------------------------------------------------------------------

def run(options: Options) -> RunResult:
    """`pdcheck validate`: see the module doc."""
    from .cache import open_cache
    from .kustomize import kustomize_command

    input_errors: list[InputError] = list(options.input_errors)
    all_inputs = options.inputs if options.inputs is not None else resolve_inputs(options.paths, input_errors)
    reader, inputs, refused = _remote_errors(options, all_inputs)  # one overlay's remote base hides no other
    input_errors.extend(refused)
    command = kustomize_command(options.kustomize) if any(i.kind == "kustomize" for i in inputs) else None
    config = load_run_config(options)
    cache = open_cache(options.cache_dir, options.no_cache)

    stored, done = None, {}  # input index -> (findings, suppressed)
    if cache is not None:  # the results cache: inputs whose findings are stored skip every stage below
        from .checkcache import CheckCache

        stored = CheckCache(cache, options, config, inputs, command, reader)
        done = stored.lookup()
    todo = [index for index in range(len(inputs)) if index not in done]
    renders, rules = [], None
    if todo:
        from .render import Renderer

        # The builds start now, on worker threads: setting up the checker and checking each render overlap them.
        with Renderer([inputs[i] for i in todo], command, options.jobs, cache,
                      hasher=stored.hasher if stored is not None else None) as renderer:
            rules = enabled_rules(config, options)
            ctx = make_context(config, options)
            versions = _catalog_versions(options, config)
            checked = {}  # input index -> Checked
            for index, render in zip(todo, renderer.outcomes()):  # render
                if isinstance(render, InputError):  # reported, never cached: the other inputs go on
                    if str(render) not in map(str, input_errors):  # (a missing kustomize binary: once, not per overlay)
                        input_errors.append(render)
                    continue
                if options.progress is not None:
                    options.progress(render.name)
                model = build_model_or_finding(render, versions)  # model
                results = check(model, ctx, rules)  # check
                origins = renderer.origins(render) if _points_into_objects(results) else None
                checked[index] = Checked(render, results, origins, model)
            recheck = _recheck(versions, ctx, rules)
            located = {index: locate(c.render, c.results, c.origins.result() if c.origins else None, c.model, recheck)
                       for index, c in checked.items()}
        renders = [c.render for c in checked.values()]
        for index, result in located.items():
            done[index] = result
            if stored is not None:
                stored.store(index, *result)  # the results cache, for the next run

    findings = sorted((f for result in done.values() for f in result[0]), key=Finding.sort_key)
    suppressed = sum(result[1] for result in done.values())
    enabled = [r for r, _ in rules] if rules is not None else lambda: [r for r, _ in enabled_rules(config, options)]
    return RunResult(__version__, [i.display for i in all_inputs], findings, suppressed, renders, enabled,
                     input_errors, [i.kind for i in all_inputs])


def build_model_or_finding(render: Render, versions: dict) -> Model | Finding:
    """The render's model, or for a model bug one internal-error finding instead of a traceback."""
    from .model import build_model

    try:
        return build_model(render, versions)
    except Exception as exc:
        return Finding(
            INTERNAL_ERROR_RULE, Severity.ERROR,
            f"pdcheck could not model this input ({type(exc).__name__}: {exc})",
            "report this as a pdcheck bug with the input that triggers it", overlay=render.name,
        )


def check(model: Model | Finding, ctx: Context, rules: list[tuple[Rule, Severity]]) -> list:
    """Run the rules: (rule, severity, problems) per rule, or a Finding for a rule that crashed
    (a model that could not be built is passed through as its one finding)."""
    if isinstance(model, Finding):
        return [model]
    results = []
    for rule, severity in rules:
        try:
            problems = list(rule.check(model, ctx))
        except Exception as exc:  # a rule bug must not hide the other findings or print a traceback
            results.append(Finding(
                INTERNAL_ERROR_RULE, Severity.ERROR,
                f"rule {rule.id} failed on this input ({type(exc).__name__}: {exc})",
                "report this as a pdcheck bug with the input that triggers it", overlay=model.render.name,
            ))
            continue
        results.append((rule, severity, problems))
    return results


def _points_into_objects(results: list) -> bool:
    """Whether some unsuppressed problem points into an object (and so needs its file)."""
    return any(p.obj is not None and not p.ignores(rule.id)
               for rule, _, problems in (r for r in results if not isinstance(r, Finding)) for p in problems)


def _recheck(versions: dict, ctx: Context, rules: list[tuple[Rule, Severity]]) -> Callable[[Render], set]:
    """model + check of a changed copy of a render (provenance.Attribution.fold): the (rule id,
    object, path) of every problem found in it."""
    def still_found(render: Render) -> set:
        results = check(build_model_or_finding(render, versions), ctx, rules)
        return {(rule.id, p.obj.ref, tuple(p.path)) for rule, _, problems in (r for r in results if not isinstance(r, Finding))
                for p in problems if p.obj is not None}
    return still_found


def locate(render: Render, results: list, origins: list[Origin] | None = None,
           model: Model | Finding | None = None, recheck: Callable[[Render], set] | None = None) -> tuple[list[Finding], int]:
    """Findings (with file and line) of check's results, and how many were suppressed.

    origins: the file each of render.objects came from, when the render itself does not carry
    them (an overlay built without origin annotations; see render.Renderer.origins).
    model: the render's model; with it, a value set through kustomize (a ConfigMap key, a
    replacement's copy) is located where it was set; with recheck (see _recheck) too, the
    findings that fixing a named cause removes are folded into it (provenance.Attribution).
    """
    from .provenance import Attribution
    from .sources import locate as source_line

    attribution = Attribution(render, model if not isinstance(model, Finding) else None, recheck)

    origin_of = {id(o): origin for o, origin in zip(render.objects, origins)} if origins is not None else {}
    findings, suppressed = [], 0
    seen = set()  # (rule, object, path, message): a wrapper's one template may yield the same problem in two children
    for result in results:
        if isinstance(result, Finding):
            findings.append(result)
            continue
        rule, severity, problems = result
        for p in problems:
            if p.ignores(rule.id):
                suppressed += 1
                continue
            key = (rule.id, p.obj.ref if p.obj is not None else "", tuple(p.path), p.message)
            if key in seen:
                continue
            seen.add(key)
            if p.obj is not None:
                origin = origin_of.get(id(p.obj))
                file, line = source_line(replace(p.obj, origin=origin) if origin is not None else p.obj, p.path)
            else:
                file, line = (render.name if render.source != "kustomize" else None), None
            if p.provenance:  # the rule says where the cause was written (a kustomization line)
                file, line = p.provenance[0][1], p.provenance[0][2]
            findings.append(attribution.attach(Finding(
                rule.id, severity.capped(p.at_most), p.message, p.fix,
                object=p.obj.ref if p.obj is not None else "", path=p.path,
                file=file, line=line, overlay=render.name, provenance=p.provenance,
            ), p))
    return attribution.fold(findings), suppressed


def check_render(render: Render, ctx: Context, options: Options, rules: list[tuple[Rule, Severity]]) -> tuple[list[Finding], int]:
    """model -> check -> locate for one render that carries its origins (a YAML file, or an overlay
    built with annotations): the findings and the suppressed count."""
    versions = _catalog_versions(options, ctx.config)
    model = build_model_or_finding(render, versions)
    return locate(render, check(model, ctx, rules), model=model, recheck=_recheck(versions, ctx, rules))


def build_models(options: Options, config: Config | None = None) -> list[Model]:
    """Render and model every input (for `pdcheck render --effective` and `pdcheck plan`); config is
    read here unless the caller already holds it."""
    from .cache import open_cache
    from .model import build_model
    from .render import render_all

    config = config if config is not None else load_run_config(options)
    inputs = resolve_inputs(options.paths)
    _refuse_remote(options, inputs)
    renders = render_all(inputs, options.kustomize, options.jobs,
                         open_cache(options.cache_dir, options.no_cache))
    versions = _catalog_versions(options, config)
    return [build_model(r, versions) for r in renders]
