"""pdcheck.schema: strict core schemas, the project LWS schema, CRD files."""

import copy
import random
import re
from pathlib import Path

import pytest
import yaml

from pdcheck.schema import SchemaIssue, SchemaSetupError, SchemaValidator, bundled_k8s_versions
from pdcheck.schema.bundle import default_k8s_versions
from pdcheck.schema.crd import load_crd_file
from pdcheck.schema.fastcheck import Unsure
from reference_material import SHARED, shared_path

DATA = Path(__file__).resolve().parent / "data" / "schema"
BOTH = "1.26,1.37"


def load_docs(path: Path) -> list[dict]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


def reference_lws() -> list[dict]:
    """The LWS in the LWS example and the two in the reference seed document's yaml blocks."""
    docs = load_docs(shared_path("reference", "lws-example-sglang.yaml"))
    seed = shared_path("seed", "000_3bc60c81eb28b8e5.txt").read_text()
    for block in re.findall(r"```ya?ml\n(.*?)```", seed, re.S):
        docs += [d for d in yaml.safe_load_all(block) if d]
    lws = [d for d in docs if d["kind"] == "LeaderWorkerSet"]
    assert len(lws) == 3
    return lws


def mutate(doc: dict, path, value=None, delete: bool = False) -> dict:
    """Copy of doc with path (tuple, or dotted: 'spec.containers.0.image') set to value (or deleted)."""
    doc = copy.deepcopy(doc)
    *parents, last = as_path(path) if isinstance(path, str) else path
    node = doc
    for part in parents:
        node = node[part]
    if delete:
        del node[last]
    else:
        node[last] = value
    return doc


def as_path(dotted: str) -> tuple:
    return tuple(int(p) if p.isdigit() else p for p in dotted.split("."))


def summary(issues: list[SchemaIssue]) -> list[tuple]:
    return [(i.kind, i.k8s_version, i.path) for i in issues]


@pytest.fixture(scope="module")
def validator():
    return SchemaValidator(BOTH.split(","))


@pytest.fixture(scope="module")
def crd_validator():
    """Validates LWS with the upstream CRD (1.3 MB, parsed once per module)."""
    return SchemaValidator(BOTH.split(","), crd_files=[shared_path("reference", "lws-crd-leaderworkersets.yaml")])


@pytest.fixture(scope="module")
def core_docs():
    return {d["kind"]: d for d in load_docs(DATA / "core-valid.yaml")}


# --- setup --------------------------------------------------------------------------------------

def test_versions_and_defaults():
    versions = bundled_k8s_versions()
    assert versions[0] == "1.25" and "1.26" in versions and versions == sorted(versions, key=lambda v: int(v.split(".")[1]))
    assert SchemaValidator().k8s_versions == default_k8s_versions() and default_k8s_versions()[-1] == versions[-1]
    assert SchemaValidator(["v1.30.2", "1.30"]).k8s_versions == ["1.30"]


@pytest.mark.parametrize("versions", [["1.99"], ["1.10"], ["latest"]])
def test_unknown_version_is_setup_error(versions):
    with pytest.raises(SchemaSetupError, match="version"):
        SchemaValidator(versions)


@pytest.mark.parametrize("content, expected", [
    (None, "Cannot read CRD file"),
    ("a: [unclosed", "not valid YAML or JSON"),
    ("a: " + "[" * 300 + "]" * 300, "nested too deeply"),  # read with the manifest limits
    ("apiVersion: v1\nkind: ConfigMap\n", "contains no CustomResourceDefinition"),
    ("apiVersion: apiextensions.k8s.io/v1beta1\nkind: CustomResourceDefinition\nmetadata: {name: x}\n", "only apiextensions.k8s.io/v1"),
    ("apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata: {name: x}\nspec: {}\n", "lacks spec.group"),
])
def test_bad_crd_file_is_setup_error(tmp_path, content, expected):
    path = tmp_path / "crd.yaml"
    if content is not None:
        path.write_text(content)
    with pytest.raises(SchemaSetupError, match=expected) as raised:
        SchemaValidator(crd_files=[path])
    assert str(path) in str(raised.value)


# --- core kinds ---------------------------------------------------------------------------------

def test_valid_core_docs(validator, core_docs):
    for doc in core_docs.values():
        assert validator.validate(doc) == []


CONTAINER = "spec.template.spec.containers.0"


@pytest.mark.parametrize("kind, path, value, expected_path, versions, message", [
    ("Deployment", f"{CONTAINER}.image", 3, CONTAINER + ".image", BOTH, "3 is not of type 'string', 'null'."),
    ("Deployment", "spec.replica", 2, "spec.replica", BOTH, "Unknown field 'replica' (did you mean 'replicas'?)."),
    ("Deployment", f"{CONTAINER}.ports.0.containerPort", "8000", CONTAINER + ".ports.0.containerPort", BOTH, "'8000' is not of type"),
    ("Deployment", "spec.strategy.rollingUpdate.maxSurge", True, "spec.strategy.rollingUpdate.maxSurge", BOTH, "True is not of type integer or string."),
    # resizePolicy (and sidecar restartPolicy) appeared in 1.27/1.28: unknown to 1.26 only.
    ("Deployment", f"{CONTAINER}.resizePolicy", [{"resourceName": "cpu", "restartPolicy": "NotRequired"}],
     CONTAINER + ".resizePolicy", "1.26", "Unknown field 'resizePolicy'."),
    ("Service", "spec.ports", {"port": 80}, "spec.ports", BOTH, "{'port': 80} is not of type 'array', 'null'."),
    ("Service", "spec.ports.0.port", "http", "spec.ports.0.port", BOTH, "'http' is not of type 'integer'."),
    ("ConfigMap", "data.policy", 5, "data.policy", BOTH, "5 is not of type 'string', 'null'."),
    ("ConfigMap", "metadata.labelz", {}, "metadata.labelz", BOTH, "Unknown field 'labelz' (did you mean 'labels'?)."),
])
def test_invalid_core_docs(validator, core_docs, kind, path, value, expected_path, versions, message):
    issues = validator.validate(mutate(core_docs[kind], path, value))
    expected = tuple(int(p) if p.isdigit() else p for p in expected_path.split("."))
    assert summary(issues) == [("invalid", versions, expected)]
    assert issues[0].message.startswith(message)


def test_required_field_and_missing_type_meta(validator, core_docs):
    assert summary(validator.validate(mutate(core_docs["Deployment"], "spec.selector", delete=True))) == [
        ("invalid", BOTH, ("spec",))]
    assert validator.validate(mutate(core_docs["ConfigMap"], "apiVersion", delete=True)) == [
        SchemaIssue("invalid", BOTH, ("apiVersion",), "'apiVersion' is a required property.")]
    assert summary(validator.validate({"apiVersion": "v1", "kind": 7})) == [("invalid", BOTH, ("kind",))]
    assert summary(validator.validate(["not", "a", "mapping"])) == [("invalid", BOTH, ())]


def test_huge_instance_is_not_dumped(validator, core_docs):
    issues = validator.validate(mutate(core_docs["Deployment"], f"{CONTAINER}.image", {"x" * 500: list(range(200))}))
    assert len(issues) == 1 and len(issues[0].message) < 150 and "..." in issues[0].message


@pytest.mark.parametrize("doc, expected", [
    ({"apiVersion": "example.com/v1", "kind": "Widget"}, [("no-schema", BOTH, ())]),
    ({"apiVersion": "apps/v1", "kind": "DeploymentSpec"}, [("no-schema", BOTH, ())]),  # a type, not a kind
    ({"apiVersion": "apps.example.com/v1", "kind": "Deployment"}, [("no-schema", BOTH, ())]),  # not core apps
    ({"apiVersion": "flowcontrol.apiserver.k8s.io/v1beta3", "kind": "FlowSchema", "metadata": {"name": "x"},
      "spec": {"priorityLevelConfiguration": {"name": "x"}}}, [("bad-version", "1.37", ("apiVersion",))]),  # gone in 1.32
    ({"apiVersion": "leaderworkerset.x-k8s.io/v1alpha1", "kind": "LeaderWorkerSet"}, [("bad-version", BOTH, ("apiVersion",))]),
])
def test_kinds_without_schema(validator, doc, expected):
    assert summary(validator.validate(doc)) == expected


# --- LeaderWorkerSet: project schema ------------------------------------------------------------

def test_reference_lws_are_valid(validator):
    for doc in reference_lws():
        assert validator.validate(doc) == []


LWT = "spec.leaderWorkerTemplate"
WORKER_CONTAINER = f"{LWT}.workerTemplate.spec.containers.0"

# Broken LWS objects both our schema and the upstream CRD reject: (path, value or DELETE, issue path).
DELETE = object()
BROKEN_FOR_BOTH = [
    (f"{LWT}.restartPolicy", "RecreateGroupOnFailure", f"{LWT}.restartPolicy"),
    ("spec.replicas", "2", "spec.replicas"),
    ("spec.replicas", -1, "spec.replicas"),
    ("spec.subdomainPolicy", "Shared", "spec.subdomainPolicy"),  # unknown field: belongs in networkConfig
    (f"{LWT}.workerTemplate", DELETE, LWT),
    (f"{WORKER_CONTAINER}.imagePullPolicyy", "Always", f"{WORKER_CONTAINER}.imagePullPolicyy"),
    (f"{WORKER_CONTAINER}.ports", [{"containerPort": "abc"}], f"{WORKER_CONTAINER}.ports.0.containerPort"),
    ("spec.startupPolicy", "LeaderFirst", "spec.startupPolicy"),
    ("spec.networkConfig", {"subdomainPolicy": "PerReplica"}, "spec.networkConfig.subdomainPolicy"),
    ("spec.rolloutStrategy", {"type": "Recreate"}, "spec.rolloutStrategy.type"),
]

# Rejected by the LWS admission webhook; the CRD alone accepts them, our schema encodes the rule.
BROKEN_FOR_WEBHOOK = [
    (f"{LWT}.size", 0, f"{LWT}.size"),
    ("spec.rolloutStrategy", {"type": "RollingUpdate", "rollingUpdateConfiguration": {"maxSurge": "150%"}},
     "spec.rolloutStrategy.rollingUpdateConfiguration.maxSurge"),
    ("spec.rolloutStrategy", {"type": "RollingUpdate", "rollingUpdateConfiguration": {"partition": -1}},
     "spec.rolloutStrategy.rollingUpdateConfiguration.partition"),
    (f"{LWT}.subGroupPolicy", {"subGroupPolicyType": "LeaderExcluded"}, f"{LWT}.subGroupPolicy"),
]


# Defaulted by the LWS mutating webhook before the API server validates the CRD schema: accepted,
# although the CRD alone requires the field (networkConfig without subdomainPolicy becomes Shared).
DEFAULTED_BY_WEBHOOK = [
    ("spec.networkConfig", {}),
]


def break_lws(path, value):
    base = reference_lws()[0]
    return mutate(base, path, delete=True) if value is DELETE else mutate(base, path, value)


@pytest.mark.parametrize("path, value, issue_path", BROKEN_FOR_BOTH + BROKEN_FOR_WEBHOOK)
def test_broken_lws_rejected_by_project_schema(validator, path, value, issue_path):
    assert summary(validator.validate(break_lws(path, value))) == [("invalid", BOTH, as_path(issue_path))]


@pytest.mark.parametrize("path, value", DEFAULTED_BY_WEBHOOK)
def test_webhook_defaulted_lws_accepted(validator, path, value):
    """The near miss of the networkConfig case above: an omitted subdomainPolicy is no error, an
    unknown value still is."""
    assert validator.validate(break_lws(path, value)) == []


def test_lws_messages(validator):
    [issue] = validator.validate(break_lws(f"{LWT}.restartPolicy", "Bogus"))
    assert issue.message == "'Bogus' is not one of ['Default', 'RecreateGroupOnPodRestart', 'RecreateGroupAfterStart', 'None']."
    [issue] = validator.validate(break_lws(f"{WORKER_CONTAINER}.imagePullPolicyy", "Always"))
    assert issue.message == "Unknown field 'imagePullPolicyy' (did you mean 'imagePullPolicy'?)."


def test_lws_pod_template_checked_per_version(validator):
    doc = break_lws(f"{WORKER_CONTAINER}.resizePolicy", [{"resourceName": "cpu", "restartPolicy": "NotRequired"}])
    assert summary(validator.validate(doc)) == [("invalid", "1.26", as_path(f"{WORKER_CONTAINER}.resizePolicy"))]


# --- CRD files ----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def widget_validator():
    return SchemaValidator(BOTH.split(","), crd_files=[DATA / "widget-crd.yaml"])


WIDGET = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"},
          "spec": {"size": 1, "port": "http", "note": None, "mode": "fast", "tags": ["a", "b"],
                   "extra": {"anything": {"goes": [1]}},
                   "template": {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}}}


def test_crd_file_loads_served_versions_only():
    assert [(s.api_version, s.kind) for s in load_crd_file(DATA / "widget-crd.yaml")] == [("example.com/v1", "Widget")]


def test_valid_custom_resource(widget_validator):
    assert widget_validator.validate(WIDGET) == []
    assert widget_validator.validate(mutate(WIDGET, "spec.port", 8080)) == []


@pytest.mark.parametrize("path, value, issue_path", [
    ("spec.size", 0, "spec.size"),  # exclusiveMinimum: true (OpenAPI 3.0 form)
    ("spec.port", 1.5, "spec.port"),  # int-or-string
    ("spec.mode", None, "spec.mode"),  # not nullable
    ("spec.mode", "slow", "spec.mode"),
    ("spec.tags", ["a", "a"], "spec.tags"),  # list-type set
    ("spec.colour", "red", "spec.colour"),  # unknown field: the API server would prune it
    ("spec.template", {"metadata": {"name": "c"}}, "spec.template"),  # embedded resource needs apiVersion/kind
    ("spec.template.metadata", {"nam": "c"}, "spec.template.metadata.nam"),  # embedded ObjectMeta
    ("metadata.labelz", {}, "metadata.labelz"),  # root ObjectMeta
    ("spec.size", DELETE, "spec"),
])
def test_invalid_custom_resource(widget_validator, path, value, issue_path):
    doc = mutate(WIDGET, path, delete=True) if value is DELETE else mutate(WIDGET, path, value)
    # set: null for an enum fails 'type' and 'enum'; an embedded resource misses apiVersion and kind
    assert set(summary(widget_validator.validate(doc))) == {("invalid", BOTH, as_path(issue_path))}


def test_unserved_crd_version_is_bad_version(widget_validator):
    [issue] = widget_validator.validate({**WIDGET, "apiVersion": "example.com/v1alpha1"})
    assert (issue.kind, issue.k8s_version) == ("bad-version", BOTH) and "served: example.com/v1" in issue.message


def test_crd_takes_precedence_over_project_schema(validator, crd_validator):
    size_zero = break_lws(f"{LWT}.size", 0)
    assert validator.validate(size_zero) != []
    assert crd_validator.validate(size_zero) == []  # upstream CRD leaves size >= 1 to the webhook


def test_reference_lws_valid_with_upstream_crd(crd_validator):
    for doc in reference_lws():
        assert crd_validator.validate(doc) == []


@pytest.mark.parametrize("path, value, issue_path", BROKEN_FOR_BOTH)
def test_broken_lws_rejected_by_upstream_crd(crd_validator, path, value, issue_path):
    assert summary(crd_validator.validate(break_lws(path, value))) == [("invalid", BOTH, as_path(issue_path))]


# --- the fast yes/no check agrees with jsonschema ----------------------------------------------

MUTATION_VALUES = ["x", 7, -1, 1.5, None, True, [], {}, ["x"], {"zz": 1}]


def all_paths(node, prefix=()):
    yield prefix
    if isinstance(node, dict):
        for key, value in node.items():
            yield from all_paths(value, prefix + (key,))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from all_paths(value, prefix + (index,))


def test_fast_check_agrees_with_jsonschema(validator, widget_validator, core_docs):
    rng = random.Random(7)
    subjects = [(validator, d) for d in core_docs.values()] + [(widget_validator, WIDGET)]
    subjects += [(validator, reference_lws()[1])] if SHARED.is_dir() else []
    decided = 0
    for subject_validator, doc in subjects:
        paths = [p for p in all_paths(doc) if p]
        for _ in range(60):
            path = rng.choice(paths)
            mutated = mutate(doc, path, rng.choice(MUTATION_VALUES))
            if rng.random() < 0.2:
                mutated = mutate(doc, path, delete=True)
            for version in subject_validator.k8s_versions:
                compiled = subject_validator._validator(version, doc["apiVersion"], doc["kind"])
                try:
                    fast = compiled.fast_check(mutated)
                except Unsure:
                    continue
                decided += 1
                assert fast == (next(compiled.jsonschema_validator.iter_errors(mutated), None) is None), path
    assert decided > 300


@pytest.mark.parametrize("path, value, schema", [
    ("spec.colour", "red", "Widget example.com/v1 schema of the CRD in "),  # the CRD's own field
    ("metadata.labelz", {}, None),  # the core ObjectMeta the CRD refers to: a Kubernetes version's
])
def test_crd_issues_name_the_crd_unless_in_an_embedded_core_type(widget_validator, path, value, schema):
    [issue] = widget_validator.validate(mutate(WIDGET, path, value))
    if schema is None:
        assert issue.schema is None
    else:
        assert issue.schema.startswith(schema) and issue.schema.endswith("widget-crd.yaml")
