"""profiles/observability: engine and router metrics, PodMonitors, the Grafana dashboard.

Offline: the dashboard parses and every query is made of metric selectors and PromQL only; the
overlays that use the component run engines with --enable-metrics and the router's exporter on
the port the PodMonitors scrape; the PodMonitors select every engine rank and the router and
validate against prometheus-operator's CRD (../shared) and pdcheck's bundled copy of it.

Package index (marker `package_index`): every metric on the dashboard exists in the SGLang release
and the sglang-router release the bundle pins (read from their wheels, downloaded once per machine
into a cache), and the real pinned router, started against fake engines, exposes the router series
the dashboard reads.
"""

from __future__ import annotations

import ast
import copy
import functools
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from pdcheck.catalog import select_catalog, version_from_image
from pdcheck.checker import Options, run
from regen_golden import render as build
from reference_material import shared_path

REPO = Path(__file__).resolve().parents[1]
COMPONENT_DIR = REPO / "profiles" / "observability"
OVERLAYS_DIR = REPO / "overlays"
PODMONITOR_CRD = ("reference", "observability", "prometheus-operator-podmonitors.yaml")
SERVICEMONITOR_CRD = ("reference", "observability", "prometheus-operator-servicemonitors.yaml")

COMPONENT_PATH = "../../profiles/observability"
OVERLAYS = sorted(p.parent.name for p in OVERLAYS_DIR.glob("*/kustomization.yaml")
                  if COMPONENT_PATH in yaml.safe_load(p.read_text()).get("components", []))
LWS_KIND = "LeaderWorkerSet"
COMPONENT_LABEL = "app.kubernetes.io/component"
GRAFANA_SIDECAR_LABEL = "grafana_dashboard"  # the Grafana chart's sidecar.dashboards.label default
# kubectl apply (client side) keeps the whole object in an annotation; annotations are capped at 256 KiB.
LAST_APPLIED_LIMIT = 256 * 1024

SGLANG_PREFIX = "sglang:"
ROUTER_PREFIX = "sgl_router_"
# Labels Prometheus adds to every scraped series, and those the PodMonitors' relabelings add.
SCRAPE_LABELS = {"namespace", "pod", "container", "endpoint", "job", "instance"}


def shared_file(parts: tuple[str, ...]) -> Path:
    return shared_path(*parts)


# --- the rendered objects --------------------------------------------------------------------


@functools.cache
def _parsed(overlay: str) -> tuple:
    return tuple(yaml.safe_load_all(build(OVERLAYS_DIR / overlay)))


def rendered(overlay: str) -> list[dict]:
    return copy.deepcopy(list(_parsed(overlay)))


def of_kind(objs: list[dict], kind: str) -> list[dict]:
    return [o for o in objs if o["kind"] == kind]


def pod_templates(objs: list[dict]) -> list[tuple[dict, dict]]:
    """(workload, pod template) of every LWS and Deployment."""
    out = []
    for obj in objs:
        if obj["kind"] == LWS_KIND:
            out.append((obj, obj["spec"]["leaderWorkerTemplate"]["workerTemplate"]))
        elif obj["kind"] == "Deployment":
            out.append((obj, obj["spec"]["template"]))
    return out


def selects(selector: dict, labels: dict) -> bool:
    """A Kubernetes LabelSelector (matchLabels + matchExpressions) against pod labels."""
    if any(labels.get(k) != v for k, v in (selector.get("matchLabels") or {}).items()):
        return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr["key"], expr["operator"], expr.get("values") or []
        ok = {"In": labels.get(key) in values, "NotIn": labels.get(key) not in values,
              "Exists": key in labels, "DoesNotExist": key not in labels}[op]
        if not ok:
            return False
    return True


def flag(argv: list[str], name: str) -> str | None:
    for i, arg in enumerate(argv[:-1]):
        if arg == name:
            return argv[i + 1]
    return None


def dashboard(objs: list[dict]) -> tuple[dict, dict]:
    """(ConfigMap, parsed dashboard) of the one ConfigMap the Grafana sidecar picks up."""
    maps = [o for o in of_kind(objs, "ConfigMap")
            if (o["metadata"].get("labels") or {}).get(GRAFANA_SIDECAR_LABEL) == "1"]
    assert len(maps) == 1, f"expected one ConfigMap labelled {GRAFANA_SIDECAR_LABEL}=1, found {len(maps)}"
    (name, text), = maps[0]["data"].items()
    assert name.endswith(".json"), f"the sidecar writes the key as a file name; {name} is not a .json file"
    return maps[0], json.loads(text)


def component_dashboard() -> dict:
    return json.loads((COMPONENT_DIR / "dashboard.json").read_text())


# --- PromQL: the metric selectors of a query -------------------------------------------------


@dataclass(frozen=True)
class Selector:
    metric: str
    matchers: tuple[tuple[str, str, str], ...]  # (label, op, value)


# Everything a dashboard query may contain besides selectors, grouping clauses and numbers.
PROMQL_WORDS = {
    "sum", "avg", "min", "max", "count", "rate", "irate", "increase", "histogram_quantile",
    "by", "without", "and", "or", "unless", "clamp_min", "clamp_max", "label_values",
}
SELECTOR = re.compile(r"([A-Za-z_:][A-Za-z0-9_:]*)\{([^{}]*)\}")
MATCHER = re.compile(r'\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*"([^"]*)"\s*(?:,|$)')
GROUPING = re.compile(r"\b(?:by|without)\s*\(([^()]*)\)")
LABEL_VALUES = re.compile(r"^label_values\(\s*([A-Za-z_:][A-Za-z0-9_:]*)\s*,\s*([A-Za-z_][A-Za-z0-9_]*)\s*\)$")


def parse_query(expr: str) -> tuple[list[Selector], set[str]]:
    """The selectors and grouping labels of a dashboard query. Metrics must be written with braces
    (`name{...}`): any other word that is not PromQL fails, so a metric cannot slip past the checks."""
    template = LABEL_VALUES.match(expr.strip())
    if template:
        return [Selector(template[1], ())], {template[2]}
    selectors = []
    for match in SELECTOR.finditer(expr):
        body, matchers, pos = match[2], [], 0
        while pos < len(body):
            m = MATCHER.match(body, pos)
            assert m and m.end() > pos, f"cannot parse label matchers {body!r} in {expr!r}"
            matchers.append((m[1], m[2], m[3]))
            pos = m.end()
        selectors.append(Selector(match[1], tuple(matchers)))
    grouping = {label.strip() for clause in GROUPING.findall(expr) for label in clause.split(",") if label.strip()}
    rest = GROUPING.sub(" ", SELECTOR.sub(" ", expr))
    rest = re.sub(r"\[[^\]]*\]", " ", rest)  # range selectors: [$__rate_interval]
    rest = re.sub(r"\b\d+(\.\d+)?\b", " ", rest)
    words = set(re.findall(r"[A-Za-z_:][A-Za-z0-9_:]*", rest))
    assert words <= PROMQL_WORDS, f"{expr!r}: {sorted(words - PROMQL_WORDS)} is neither PromQL nor a metric with {{...}}"
    assert selectors, f"{expr!r} reads no metric"
    return selectors, grouping


def dashboard_queries(dash: dict) -> list[tuple[str, str]]:
    """(where, expr) of every panel target and every query variable."""
    out = []
    for panel in dash["panels"]:
        for target in panel.get("targets", []):
            out.append((f"panel {panel['title']!r} {target['refId']}", target["expr"]))
    for var in dash.get("templating", {}).get("list", []):
        if var["type"] == "query":
            query = var["query"]["query"] if isinstance(var["query"], dict) else var["query"]
            out.append((f"variable {var['name']!r}", query))
    return out


def dashboard_selectors(dash: dict) -> list[tuple[str, Selector, set[str]]]:
    """(where, selector, grouping labels of its query) of every metric the dashboard reads."""
    out = []
    for where, expr in dashboard_queries(dash):
        selectors, grouping = parse_query(expr)
        out += [(where, selector, grouping) for selector in selectors]
    return out


# --- offline: dashboard -------------------------------------------------------------------------


def test_the_component_is_used_by_an_overlay():
    assert OVERLAYS, f"no overlay lists {COMPONENT_PATH}"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_dashboard_is_a_grafana_sidecar_configmap(overlay):
    cm, dash = dashboard(rendered(overlay))
    assert dash == component_dashboard()
    assert len(json.dumps(cm)) < LAST_APPLIED_LIMIT
    assert not re.search(r"-[a-z0-9]{10}$", cm["metadata"]["name"]), "a hashed name leaves old dashboards behind"
    assert dash["uid"] and dash["title"]
    variables = {v["name"]: v for v in dash["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource" and variables["datasource"]["query"] == "prometheus"


def test_dashboard_panels_read_the_chosen_datasource_and_do_not_overlap():
    dash = component_dashboard()
    taken = {}
    for panel in dash["panels"]:
        pos = panel["gridPos"]
        assert pos["x"] + pos["w"] <= 24, f"{panel['title']!r} is wider than the grid"
        for x in range(pos["x"], pos["x"] + pos["w"]):
            for y in range(pos["y"], pos["y"] + pos["h"]):
                assert (x, y) not in taken, f"{panel['title']!r} overlaps {taken[(x, y)]!r}"
                taken[(x, y)] = panel["title"]
        if panel["type"] == "row":
            continue
        assert panel["targets"], f"{panel['title']!r} has no query"
        for target in [panel, *panel["targets"]]:
            assert target["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, panel["title"]


def test_every_query_reads_only_engine_and_router_metrics_of_this_namespace():
    for where, selector, _ in dashboard_selectors(component_dashboard()):
        assert selector.metric.startswith((SGLANG_PREFIX, ROUTER_PREFIX)), f"{where}: {selector.metric} is from neither"
        if not where.startswith("variable"):
            assert ("namespace", "=", "$namespace") in selector.matchers, f"{where}: {selector.metric} not scoped"


@pytest.mark.parametrize("expr,message", [
    ("sum(rate(sglang:num_requests_total[5m]))", "neither PromQL nor a metric"),  # no braces: not checked
    ('sum(sglang:num_running_reqs{role="decode"} / sglang:max_total_num_tokens)', "neither PromQL nor a metric"),
    ('sum(sglang:num_running_reqs{role=decode})', "cannot parse label matchers"),
])
def test_query_parser_rejects_what_it_cannot_check(expr, message):
    with pytest.raises(AssertionError, match=message):
        parse_query(expr)


def test_query_parser_finds_selectors_and_grouping():
    selectors, grouping = parse_query(
        'histogram_quantile(0.99, sum by (le, stage) (rate(sglang:per_stage_req_latency_seconds_bucket'
        '{namespace="$namespace",stage=~"a|b"}[$__rate_interval])))')
    assert selectors == [Selector("sglang:per_stage_req_latency_seconds_bucket",
                                  (("namespace", "=", "$namespace"), ("stage", "=~", "a|b")))]
    assert grouping == {"le", "stage"}


# --- offline: what the overlays run and what the PodMonitors scrape ----------------------------


def podmonitors(objs: list[dict]) -> dict[str, dict]:
    return {o["metadata"]["name"]: o for o in of_kind(objs, "PodMonitor")}


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_engines_serve_metrics_on_the_port_the_podmonitor_scrapes(overlay):
    """SGLang serves /metrics on --port (rank 0: the API server; ranks >= 1: the /health stub), so
    every rank must be scraped there: with DP attention each node's schedulers report only to it."""
    objs = rendered(overlay)
    (engines,) = [m for m in podmonitors(objs).values()
                  if any(selects(m["spec"]["selector"], t["metadata"]["labels"])
                         for w, t in pod_templates(objs) if w["kind"] == LWS_KIND)]
    (endpoint,) = engines["spec"]["podMetricsEndpoints"]
    assert endpoint["path"] == "/metrics"
    selected = [(w, t) for w, t in pod_templates(objs) if selects(engines["spec"]["selector"], t["metadata"]["labels"])]
    assert sorted(w["metadata"]["name"] for w, _ in selected) == ["sglang-decode", "sglang-prefill"]
    for lws, template in selected:
        # One template for leaders and workers (no leaderTemplate): the selector reaches every rank.
        assert "leaderTemplate" not in lws["spec"]["leaderWorkerTemplate"]
        assert "leaderworkerset.sigs.k8s.io/worker-index" not in json.dumps(engines["spec"]["selector"])
        (container,) = [c for c in template["spec"]["containers"] if c["name"] == "sglang"]
        argv = container["command"] + container.get("args", [])
        assert "--enable-metrics" in argv, lws["metadata"]["name"]
        ports = {p["name"]: p["containerPort"] for p in container["ports"]}
        config = {k: v for o in of_kind(objs, "ConfigMap") for k, v in (o.get("data") or {}).items()}
        assert str(ports[endpoint["port"]]) == config["PD_PORT"], "the scraped port is not the one SGLang serves"
        assert flag(argv, "--port") == "$(PD_PORT)"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_router_exporter_listens_where_the_podmonitor_scrapes(overlay):
    objs = rendered(overlay)
    monitors = podmonitors(objs)
    (router,) = [t for w, t in pod_templates(objs) if w["kind"] == "Deployment"]
    (monitor,) = [m for m in monitors.values() if selects(m["spec"]["selector"], router["metadata"]["labels"])]
    (endpoint,) = monitor["spec"]["podMetricsEndpoints"]
    (container,) = router["spec"]["containers"]
    argv = container["command"] + container["args"]
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert str(ports[endpoint["port"]]) == flag(argv, "--prometheus-port")
    assert flag(argv, "--prometheus-host") == "0.0.0.0", "the exporter must listen on the pod IP"
    assert ports[endpoint["port"]] != ports["http"]
    # Nothing but the router is selected: the engines are the other monitor's.
    assert [w["metadata"]["name"] for w, t in pod_templates(objs)
            if selects(monitor["spec"]["selector"], t["metadata"]["labels"])] == ["sglang-router"]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_role_label_values_on_the_dashboard_are_pod_labels(overlay):
    """The PodMonitors copy app.kubernetes.io/component into `role`; SGLang's own labels say
    engine_type="unified" on both roles. Every role a query names must be a selected pod's label."""
    objs = rendered(overlay)
    roles, added = set(), set()
    for monitor in podmonitors(objs).values():
        for endpoint in monitor["spec"]["podMetricsEndpoints"]:
            relabel = {r["targetLabel"]: r["sourceLabels"] for r in endpoint.get("relabelings", [])}
            assert relabel["role"] == ["__meta_kubernetes_pod_label_app_kubernetes_io_component"]
            added |= set(relabel)
        roles |= {t["metadata"]["labels"][COMPONENT_LABEL] for _, t in pod_templates(objs)
                  if selects(monitor["spec"]["selector"], t["metadata"]["labels"])}
    assert roles == {"prefill", "decode", "router"}
    for where, selector, grouping in dashboard_selectors(dashboard(objs)[1]):
        for label, op, value in selector.matchers:
            if label == "role":
                assert op == "=" and value in roles, f"{where}: role {value!r}"
        for label in grouping & {"role", "worker_index", "group_index"}:
            assert label in added, f"{where}: groups by {label}, which no PodMonitor adds"


def test_router_flags_come_after_service_discovery(tmp_path):
    """Appended like security/api-key: listed after router/service-discovery it survives the args
    that profile replaces."""
    overlay = tmp_path / "sd-observability"
    overlay.mkdir()
    up = os.path.relpath(REPO, overlay)
    (overlay / "kustomization.yaml").write_text(yaml.safe_dump({
        "apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization",
        "resources": [f"{up}/overlays/qwen3-roce-sd"],
        "components": [f"{up}/profiles/observability"],
    }))
    objs = list(yaml.safe_load_all(build(overlay)))
    (router,) = [t for w, t in pod_templates(objs) if w["kind"] == "Deployment"]
    args = router["spec"]["containers"][0]["args"]
    assert "--service-discovery" in args and flag(args, "--prometheus-port") == "29000"


# --- offline: the PodMonitors against prometheus-operator's CRD --------------------------------


def run_pdcheck(path: Path, crds: list[Path] = ()) -> list:
    return run(Options(paths=[str(path)], crds=[str(c) for c in crds], no_cache=True)).findings


BROKEN_PODMONITOR = {
    "apiVersion": "monitoring.coreos.com/v1", "kind": "PodMonitor",
    "metadata": {"name": "sglang-engines", "namespace": "sglang-pd"},
    "spec": {"selector": {"matchLabels": {"app": "x"}},
             "podMetricsEndpoints": [{"port": "http", "scheme": "tcp", "interval": "15s", "relabellings": []}]},
}


@pytest.mark.parametrize("with_crd", [False, True], ids=["bundled-schema", "crd"])
@pytest.mark.parametrize("overlay", OVERLAYS)
def test_overlay_is_clean(overlay, with_crd):
    crds = [shared_file(PODMONITOR_CRD)] if with_crd else []
    assert run_pdcheck(OVERLAYS_DIR / overlay, crds) == []


SERVICEMONITOR = {
    "apiVersion": "monitoring.coreos.com/v1", "kind": "ServiceMonitor",
    "metadata": {"name": "sglang-router", "namespace": "sglang-pd"},
    "spec": {"selector": {"matchLabels": {"app": "x"}}, "endpoints": [{"port": "metrics", "interval": "15s"}]},
}


def broken_servicemonitor() -> dict:
    monitor = copy.deepcopy(SERVICEMONITOR)
    monitor["spec"]["endpoints"][0].update(scheme="tcp", relabellings=[])
    return monitor


@pytest.mark.parametrize("with_crd", [False, True], ids=["bundled-schema", "crd"])
@pytest.mark.parametrize("monitor,crd,endpoints", [
    (BROKEN_PODMONITOR, PODMONITOR_CRD, "podMetricsEndpoints"),
    (broken_servicemonitor(), SERVICEMONITOR_CRD, "endpoints"),
], ids=["PodMonitor", "ServiceMonitor"])
def test_a_broken_monitor_is_reported(tmp_path, monitor, crd, endpoints, with_crd):
    crds = [shared_file(crd)] if with_crd else []
    manifest = tmp_path / "monitor.yaml"
    manifest.write_text(yaml.safe_dump(monitor))
    found = {(f.rule, f.path) for f in run_pdcheck(manifest, crds)}
    assert found == {("schema-invalid", ("spec", endpoints, 0, "scheme")),
                     ("schema-invalid", ("spec", endpoints, 0, "relabellings"))}


def test_a_servicemonitor_is_clean_with_the_bundled_schema(tmp_path):
    manifest = tmp_path / "monitor.yaml"
    manifest.write_text(yaml.safe_dump(SERVICEMONITOR))
    assert run_pdcheck(manifest) == []


def test_bundled_monitor_schemas_are_the_converted_crds():
    sys.path.insert(0, str(REPO / "tools"))
    from gen_monitoring_schemas import SCHEMA_DIR, bundled_schemas, render as render_schema

    expected = bundled_schemas([shared_file(PODMONITOR_CRD), shared_file(SERVICEMONITOR_CRD)])
    assert sorted(expected) == ["podmonitor-monitoring-v1.json", "servicemonitor-monitoring-v1.json"]
    for name, schema in expected.items():
        assert (SCHEMA_DIR / name).read_text() == render_schema(schema), f"regenerate: python tools/gen_monitoring_schemas.py"


# --- package index: the pinned releases --------------------------------------------------------


def base_image() -> str:
    kustomization = yaml.safe_load((REPO / "base" / "kustomization.yaml").read_text())
    (image,) = kustomization["images"]
    return f"{image['name']}:{image['newTag']}"


def pinned_versions() -> tuple[str, str]:
    """(sglang, sglang-router) in the bundle's image: the tag names SGLang; the router is the one
    pdcheck takes the image to carry (pdcheck/catalog.py ROUTER_FOR_SGLANG_RELEASE)."""
    image = base_image()
    router_catalog, _, _ = select_catalog("sglang-router", image, None)
    return version_from_image(image), router_catalog.version


def cache_dir() -> Path:
    root = os.environ.get("SGLANG_PD_TEST_CACHE") or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "pdcheck-test"
    path = Path(root) / "wheels"
    path.mkdir(parents=True, exist_ok=True)
    return path


def pinned_wheel(project: str, version: str) -> Path:
    """The wheel of project==version for this machine, downloaded once into the cache."""
    dest = cache_dir() / f"{project}-{version}"
    wheels = sorted(dest.glob("*.whl"))
    if not wheels:
        staging = Path(tempfile.mkdtemp(dir=cache_dir(), prefix=".download-"))
        try:
            result = subprocess.run(
                [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:",
                 "--dest", str(staging), f"{project}=={version}"],
                capture_output=True, text=True, timeout=600)
            if result.returncode != 0:
                pytest.fail(f"pip download {project}=={version} failed (needs the package index; "
                            f"deselect with -m 'not package_index'):\n{result.stderr[-2000:]}")
            try:
                staging.rename(dest)  # atomic: a concurrent run either wins or finds dest
            except OSError:
                pass
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        wheels = sorted(dest.glob("*.whl"))
    assert len(wheels) == 1, wheels
    return wheels[0]


def unpacked(wheel: Path) -> Path:
    target = wheel.parent / "unpacked"
    if not (target / ".complete").exists():
        with zipfile.ZipFile(wheel) as z:
            z.extractall(target)
        (target / ".complete").touch()
    return target


# prometheus_client's text exposition: the samples each metric type writes (multiprocess mode writes
# no _created). Counter names lose a trailing _total at construction and get it back per sample.
# https://github.com/prometheus/client_python/blob/v0.21.0/prometheus_client/metrics.py
EXPOSED_SUFFIXES = {"Counter": ("_total",), "Gauge": ("",), "Histogram": ("_bucket", "_sum", "_count"),
                    "Summary": ("_sum", "_count")}


@dataclass(frozen=True)
class SourceMetric:
    name: str
    kind: str  # Counter | Gauge | Histogram | Summary
    extra_labels: tuple[str, ...]  # label names written literally next to labels.keys()


def sglang_metrics(wheel: Path) -> dict[str, SourceMetric]:
    """Every prometheus_client metric constructed with a literal name in sglang/srt/metrics/*.py."""
    found = {}
    with zipfile.ZipFile(wheel) as z:
        sources = [n for n in z.namelist() if re.fullmatch(r"sglang/srt/metrics/[^/]+\.py", n)]
        assert sources, f"no sglang/srt/metrics/*.py in {wheel.name}"
        for name in sources:
            for node in ast.walk(ast.parse(z.read(name))):
                if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                        and node.func.id in EXPOSED_SUFFIXES):
                    continue
                kwargs = {k.arg: k.value for k in node.keywords}
                metric = kwargs.get("name") or (node.args[0] if node.args else None)
                if not (isinstance(metric, ast.Constant) and isinstance(metric.value, str)):
                    continue
                literal_labels = tuple(c.value for c in ast.walk(kwargs.get("labelnames", ast.List(elts=[])))
                                       if isinstance(c, ast.Constant) and isinstance(c.value, str))
                found[metric.value] = SourceMetric(metric.value, node.func.id, literal_labels)
    return found


def exposed_series(metrics: dict[str, SourceMetric]) -> dict[str, SourceMetric]:
    out = {}
    for metric in metrics.values():
        base = metric.name.removesuffix("_total") if metric.kind == "Counter" else metric.name
        for suffix in EXPOSED_SUFFIXES[metric.kind]:
            out[base + suffix] = metric
    return out


def enum_values(wheel: Path, module: str, enum: str) -> set[str]:
    with zipfile.ZipFile(wheel) as z:
        tree = ast.parse(z.read(module))
    (cls,) = [n for n in ast.walk(tree) if isinstance(n, ast.ClassDef) and n.name == enum]
    return {a.value.value for a in cls.body if isinstance(a, ast.Assign) and isinstance(a.value, ast.Constant)}


@pytest.fixture(scope="module")
def sglang_wheel() -> Path:
    return pinned_wheel("sglang", pinned_versions()[0])


@pytest.fixture(scope="module")
def router_wheel() -> Path:
    return pinned_wheel("sglang-router", pinned_versions()[1])


@pytest.mark.package_index
def test_metric_readers_find_what_they_claim(sglang_wheel):
    """The source scan and the suffix rules on known ground: the scan sees each metric type, and a
    name not in the release is not invented."""
    metrics = sglang_metrics(sglang_wheel)
    kinds = {m.kind for m in metrics.values()}
    assert {"Counter", "Gauge", "Histogram"} <= kinds
    series = exposed_series(metrics)
    assert "sglang:time_to_first_token_seconds" not in series  # a histogram exposes _bucket/_sum/_count
    assert "sglang:no_such_metric" not in series


@pytest.mark.package_index
def test_sglang_metrics_on_the_dashboard_exist_in_the_pinned_release(sglang_wheel):
    series = exposed_series(sglang_metrics(sglang_wheel))
    stages = enum_values(sglang_wheel, "sglang/srt/managers/schedule_batch.py", "RequestStage")
    scraped = SCRAPE_LABELS | {"role", "worker_index", "group_index"}
    used = 0
    for where, selector, grouping in dashboard_selectors(component_dashboard()):
        if not selector.metric.startswith(SGLANG_PREFIX):
            continue
        used += 1
        assert selector.metric in series, f"{where}: {selector.metric} is not exposed by sglang {pinned_versions()[0]}"
        source = series[selector.metric]
        known = scraped | set(source.extra_labels) | ({"le"} if selector.metric.endswith("_bucket") else set())
        for label in {m[0] for m in selector.matchers} | grouping:
            assert label in known, f"{where}: label {label!r} is not on {selector.metric}"
        for label, op, value in selector.matchers:
            if label == "stage":
                values = set(value.split("|")) if op == "=~" else {value}
                assert values <= stages, f"{where}: stages {sorted(values - stages)} are not RequestStage values"
    assert used >= 10


ROUTER_NAME_END = re.compile(rb"(?![a-z0-9_])|(?=sgl_)")


def router_binary(wheel: Path) -> bytes:
    with zipfile.ZipFile(wheel) as z:
        (module,) = [n for n in z.namelist() if n.endswith(".so")]
        return z.read(module)


def in_binary(binary: bytes, name: str) -> bool:
    """`name` is a whole string in the Rust module: Rust packs string literals back to back without
    terminators, so the next byte must end an identifier or start the next sgl_ literal."""
    return any(ROUTER_NAME_END.match(binary, m.end()) for m in re.finditer(re.escape(name.encode()), binary))


def router_base_name(series: str) -> str:
    return re.sub(r"_(bucket|sum|count)$", "", series)


@pytest.mark.package_index
def test_router_metrics_on_the_dashboard_exist_in_the_pinned_router(router_wheel):
    binary = router_binary(router_wheel)
    assert not in_binary(binary, "sgl_router_pd_requests")  # a prefix of a real name is no name
    names = {router_base_name(s.metric) for _, s, _ in dashboard_selectors(component_dashboard())
             if s.metric.startswith(ROUTER_PREFIX)}
    assert len(names) >= 5
    missing = sorted(n for n in names if not in_binary(binary, n))
    assert not missing, f"not in sglang-router {pinned_versions()[1]}: {missing}"


def scrape(url: str) -> dict[str, tuple[str, set[str]]]:
    """Prometheus text exposition -> sample name -> (metric TYPE, label names)."""
    import router_harness as H

    status, _, text = H.http_call("GET", url, timeout=5)
    assert status == 200, text[:300]
    types, samples = {}, {}
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split()
            types[name] = kind
        elif line and not line.startswith("#"):
            name = re.match(r"[A-Za-z_:][A-Za-z0-9_:]*", line)[0]
            labels = set(re.findall(r'([A-Za-z_][A-Za-z0-9_]*)="', line.partition("{")[2].rpartition("}")[0]))
            samples.setdefault(name, set()).update(labels)
    return {name: (types.get(router_base_name(name)) or types.get(name, "?"), labels) for name, labels in samples.items()}


@pytest.mark.package_index
@pytest.mark.network_local
def test_pinned_router_exposes_the_dashboard_series(router_wheel, tmp_path):
    """The real pinned router in PD mode against fake engines, after serving requests: every router
    series the dashboard reads is exposed, histograms with buckets, with the labels the queries use.
    Error counters appear only after an engine error, which fake engines do not produce: those are
    checked in the binary above."""
    import router_harness as H
    from fake_engine import FakeEngine

    wanted = [(w, s, g) for w, s, g in dashboard_selectors(component_dashboard())
              if s.metric.startswith(ROUTER_PREFIX) and "_errors_" not in s.metric]
    with FakeEngine("prefill", model_path=None) as prefill, FakeEngine("decode", model_path=None) as decode:
        port, metrics_port = H.free_port(), H.free_port()
        argv = [sys.executable, "-m", "sglang_router.launch_router", "--pd-disaggregation",
                "--prefill", prefill.url, "none", "--decode", decode.url, "--host", "127.0.0.1", "--port", str(port),
                "--prometheus-host", "127.0.0.1", "--prometheus-port", str(metrics_port)]
        env = H.clean_env(PYTHONPATH=str(unpacked(router_wheel)))  # the pinned router, not the venv's
        with H.RouterProcess(argv, env, tmp_path / "router.log", port) as router:
            router.wait_ready(30)
            for path, body in [("/generate", {"text": "hi", "sampling_params": {"max_new_tokens": 2}}),
                               ("/v1/chat/completions", {"model": "m", "max_tokens": 2,
                                                         "messages": [{"role": "user", "content": "hi"}]})]:
                status, _, text = H.http_call("POST", router.base + path, body)
                assert status == 200, text[:300]
            deadline = time.monotonic() + 10
            while True:
                exposed = scrape(f"http://127.0.0.1:{metrics_port}/metrics")
                if all(s.metric in exposed for _, s, _ in wanted) or time.monotonic() > deadline:
                    break
                time.sleep(0.2)
    for where, selector, grouping in wanted:
        assert selector.metric in exposed, f"{where}: the router exposes no {selector.metric}; it has {sorted(exposed)}"
        kind, labels = exposed[selector.metric]
        if selector.metric.endswith("_bucket"):
            assert kind == "histogram", f"{where}: {selector.metric} is a {kind}"
        for label in ({m[0] for m in selector.matchers} | grouping) - SCRAPE_LABELS - {"role"}:
            assert label in labels, f"{where}: {selector.metric} has labels {sorted(labels)}, not {label!r}"
