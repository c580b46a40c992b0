"""Command line: parse options, run the checker, hand the result to a reporter (exit 0/1/2)."""

from __future__ import annotations

import os
import sys
from enum import Enum
from typing import List, Optional

import typer

from . import __version__
from .errors import InputError

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Check SGLang prefill/decode deployments on Kubernetes (LeaderWorkerSet) before they cost GPU hours.",
    context_settings={"help_option_names": ["-h", "--help"]},
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
)


class OutputFormat(str, Enum):
    text = "text"
    json = "json"
    sarif = "sarif"
    github = "github"
    parsable = "parsable"
    junit = "junit"


class RulesFormat(str, Enum):
    text = "text"
    json = "json"


class PlanFormat(str, Enum):
    text = "text"
    json = "json"


def _version_callback(value: bool):
    if value:
        typer.echo(f"pdcheck {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version_callback, is_eager=True, help="Print the version and exit."),
):
    """pdcheck validates rendered Kustomize overlays, YAML files or stdin."""


def _fail(err: InputError) -> None:
    from .report.escape import printable

    typer.echo(f"pdcheck: error: {printable(err)}", err=True)
    raise typer.Exit(2)


def _use_color(color: Optional[bool], stream) -> bool:
    """--color/--no-color, else NO_COLOR (no-color.org) off, FORCE_COLOR (force-color.org) on, else
    whether the stream is a terminal. Either variable counts only when set to a non-empty value;
    NO_COLOR wins over FORCE_COLOR, as in CPython's own colour choice."""
    if color is not None:
        return color
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    return stream.isatty()


def _check_rule_ids(option: str, rule_ids: list[str]) -> None:
    """Exit 2 (with the nearest id) for a rule id pdcheck does not have."""
    from .rules import unknown_rule_message

    for rule_id in rule_ids:
        message = unknown_rule_message(rule_id)
        if message:
            _fail(InputError(None, f"{option}: {message}"))


def _catalog_version(program: str):
    """Option callback: a flag catalog version that exists (else a usage error, exit 2)."""
    def check(value: Optional[str]) -> Optional[str]:
        if value is None:
            return value
        from .catalog import available_versions

        versions = available_versions(program)
        if value not in versions:
            raise typer.BadParameter(f"no {program} flag catalog for {value!r}; available: {', '.join(versions)}")
        return value
    return check


PathsArg = typer.Argument(..., help="Kustomization directories, trees holding overlays, YAML files, or - for stdin.")
K8sOpt = typer.Option(None, "--k8s-version", help="Kubernetes version to validate against (repeatable; default: the oldest a big managed service still supports and the newest bundled, see README).")
CrdOpt = typer.Option(None, "--crd", help="CRD file to validate custom resources against (repeatable).")
SglangOpt = typer.Option(None, "--sglang-version", callback=_catalog_version("sglang"), help="SGLang flag catalog to use instead of the one the image tag selects.")
RouterOpt = typer.Option(None, "--router-version", callback=_catalog_version("sglang-router"), help="sglang-router flag catalog to use instead of the image tag's.")
KustomizeOpt = typer.Option(None, "--kustomize", envvar="PDCHECK_KUSTOMIZE", help="kustomize or kubectl binary to render with (default: the bundled kubectl).")
ConfigOpt = typer.Option(None, "--config", help="Configuration file (default: .pdcheck.yaml found upward from the first path).")
JobsOpt = typer.Option(None, "--jobs", "-j", min=1, help="Overlays rendered in parallel (default: CPU count).")
CacheDirOpt = typer.Option(None, "--cache-dir", envvar="PDCHECK_CACHE_DIR", help="Cache directory for renders and results (default: $XDG_CACHE_HOME/pdcheck or ~/.cache/pdcheck).")
NoCacheOpt = typer.Option(False, "--no-cache", help="Always render and check; neither read nor write the cache (also PDCHECK_NO_CACHE=1).")
AllowRemoteOpt = typer.Option(False, "--allow-remote", envvar="PDCHECK_ALLOW_REMOTE", help="Let kustomize fetch remote resources and git bases (default: refuse them, exit 2); each build then has PDCHECK_REMOTE_TIMEOUT seconds (30).")


@app.command()
def validate(
    paths: List[str] = PathsArg,
    output_format: OutputFormat = typer.Option(OutputFormat.text, "--format", "-f", help="Output format."),
    strict: bool = typer.Option(False, "--strict", help="Exit 1 on warnings too."),
    color: Optional[bool] = typer.Option(None, "--color/--no-color", help="Colour text output (default: when stdout is a terminal; NO_COLOR turns it off, FORCE_COLOR on)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Do not list the inputs discovered nor show progress."),
    enable: Optional[List[str]] = typer.Option(None, "--enable", metavar="RULE", help="Run this rule even if the configuration turns it off (repeatable)."),
    disable: Optional[List[str]] = typer.Option(None, "--disable", metavar="RULE", help="Do not run this rule (repeatable; wins over --enable)."),
    k8s_version: Optional[List[str]] = K8sOpt,
    crd: Optional[List[str]] = CrdOpt,
    sglang_version: Optional[str] = SglangOpt,
    router_version: Optional[str] = RouterOpt,
    kustomize: Optional[str] = KustomizeOpt,
    config: Optional[str] = ConfigOpt,
    jobs: Optional[int] = JobsOpt,
    cache_dir: Optional[str] = CacheDirOpt,
    no_cache: bool = NoCacheOpt,
    allow_remote: bool = AllowRemoteOpt,
):
    """Render every input, validate schemas, model the pods and run the rules.

    Exit codes: 0 clean (warnings allowed), 1 error findings (or warnings with --strict), 2 usage or
    input errors (an input that cannot be checked is reported and the others are still checked).
    """
    from .checker import Options, run
    from .discover import resolve_inputs
    from .findings import Severity
    from .progress import Progress
    from .report import REPORTERS
    from .report.escape import printable

    _check_rule_ids("--enable", enable or [])
    _check_rule_ids("--disable", disable or [])
    options = Options(
        paths=list(paths), k8s_versions=list(k8s_version) if k8s_version else None, crds=list(crd or []),
        sglang_version=sglang_version, router_version=router_version, kustomize=kustomize,
        config_path=config, jobs=jobs, cache_dir=cache_dir, no_cache=no_cache,
        enable=list(enable or []), disable=list(disable or []), allow_remote=allow_remote,
    )
    progress = None
    try:
        options.inputs = resolve_inputs(options.paths, options.input_errors)
        if output_format == OutputFormat.text and not quiet:
            names = ", ".join(printable(i.display) for i in options.inputs)
            typer.echo(f"pdcheck: checking {len(options.inputs)} input(s): {names}", err=True)
        if not quiet:
            progress = Progress.on_terminal(sys.stderr, len(options.inputs))
            options.progress = progress
        result = run(options)
    except InputError as err:
        _fail(err)
    finally:
        if progress is not None:
            progress.close()
    for err in result.input_errors:  # one line each on standard error, whatever the format (docs/output.md)
        typer.echo(f"pdcheck: error: {printable(err)}", err=True)
    REPORTERS[output_format.value](result, sys.stdout, _use_color(color, sys.stdout))
    if result.input_errors:
        raise typer.Exit(2)
    errors = result.count(Severity.ERROR)
    warnings = result.count(Severity.WARNING)
    raise typer.Exit(1 if errors or (strict and warnings) else 0)


@app.command()
def render(
    paths: List[str] = PathsArg,
    effective: bool = typer.Option(False, "--effective", help="Print what each pod runs: per overlay, role and rank, argv, env, GPUs, ports."),
    sglang_version: Optional[str] = SglangOpt,
    router_version: Optional[str] = RouterOpt,
    kustomize: Optional[str] = KustomizeOpt,
    config: Optional[str] = ConfigOpt,
    jobs: Optional[int] = JobsOpt,
    cache_dir: Optional[str] = CacheDirOpt,
    no_cache: bool = NoCacheOpt,
    allow_remote: bool = AllowRemoteOpt,
):
    """Print the rendered YAML (origin annotations stripped), or with --effective the pods' effective launch."""
    from .cache import open_cache
    from .discover import resolve_inputs
    from .render import render_all
    from .yamlio import dump_all

    try:
        if effective:
            from .checker import Options, build_models
            from .effective import effective_documents

            models = build_models(Options(
                paths=list(paths), sglang_version=sglang_version, router_version=router_version, kustomize=kustomize,
                config_path=config, jobs=jobs, cache_dir=cache_dir, no_cache=no_cache, allow_remote=allow_remote,
            ))
            docs = [d for m in models for d in effective_documents(m)]
        else:
            from .remote import refuse_remote

            inputs = resolve_inputs(list(paths))
            if not allow_remote:
                refuse_remote(inputs)
            renders = render_all(inputs, kustomize, jobs, open_cache(cache_dir, no_cache))
            docs = [o.doc for r in renders for o in r.objects]
    except InputError as err:
        _fail(err)
    sys.stdout.write(dump_all(docs))


@app.command()
def plan(
    paths: List[str] = PathsArg,
    gpu: Optional[str] = typer.Option(None, "--gpu", help="GPU of every engine (H100, H800, H200, H20, B200, A100-80GB, ...); default: .pdcheck.yaml `gpu`, else each pod's nvidia.com/gpu.product node selector."),
    model_config: Optional[str] = typer.Option(None, "--model-config", help="Model directory holding config.json, used for every engine instead of the shipped model facts."),
    output_format: PlanFormat = typer.Option(PlanFormat.text, "--format", "-f", help="Output format."),
    sglang_version: Optional[str] = SglangOpt,
    kustomize: Optional[str] = KustomizeOpt,
    config: Optional[str] = ConfigOpt,
    jobs: Optional[int] = JobsOpt,
    cache_dir: Optional[str] = CacheDirOpt,
    no_cache: bool = NoCacheOpt,
):
    """Per engine role: GPU memory, static budget, weights and KV cache per GPU, KV pool per rank and what it holds.

    Exit codes: 0 every role has a plan whose weights fit, 1 some role's weights exceed its static budget, 2 usage or input errors (or no role could be planned).
    """
    import json

    from .capacity.cli import run_plan

    try:
        from .checker import Options

        options = Options(paths=list(paths), sglang_version=sglang_version, kustomize=kustomize, config_path=config,
                          jobs=jobs, cache_dir=cache_dir, no_cache=no_cache)
        results, status = run_plan(options, gpu, model_config)
    except InputError as err:
        _fail(err)
    from .capacity.report import plans_json, plans_text

    if output_format == PlanFormat.json:
        sys.stdout.write(json.dumps(plans_json(__version__, results), indent=2) + "\n")
    else:
        sys.stdout.write(plans_text(results))
    raise typer.Exit(status)


@app.command("rules")
def list_rules(
    output_format: RulesFormat = typer.Option(RulesFormat.text, "--format", "-f", help="Output format."),
):
    """List every rule: id, default severity, category and summary."""
    import json

    from .rules import all_rules

    rules = all_rules()
    if output_format == RulesFormat.json:
        data = {"version": __version__, "rules": [
            {"id": r.id, "severity": r.severity.value, "category": r.category, "summary": r.summary,
             "doc": r.doc.strip(), "links": list(r.links)} for r in rules]}
        sys.stdout.write(json.dumps(data, indent=2) + "\n")
        return
    width = max(len(r.id) for r in rules)
    rows = [("RULE", "SEVERITY", "CATEGORY", "SUMMARY")] + [(r.id, r.severity.value, r.category, r.summary) for r in rules]
    for rule_id, severity, category, summary in rows:
        typer.echo(f"{rule_id:<{width}}  {severity:<8}  {category:<12}  {summary}")


@app.command()
def explain(rule_id: str = typer.Argument(..., help="Rule id, as `pdcheck rules` lists it.")):
    """Print a rule's documentation: why it matters and the source that proves it."""
    from .rules import get_rule, unknown_rule_message

    rule = get_rule(rule_id)
    if rule is None:
        _fail(InputError(None, unknown_rule_message(rule_id)))
    typer.echo(f"{rule.id} ({rule.severity.value}, {rule.category})\n\n{rule.summary}.\n\n{rule.doc.strip()}\n")
    for link in rule.links:
        typer.echo(f"- {link}")


def main() -> None:
    # Fast path: `pdcheck --version` must not pay for importing Typer and Click.
    if sys.argv[1:] == ["--version"]:
        print(f"pdcheck {__version__}")
        return
    from .children import guarded

    with guarded():  # Ctrl-C, SIGTERM, an error: no kustomize outlives pdcheck
        app()


if __name__ == "__main__":
    main()
