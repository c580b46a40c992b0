"""Every LeaderWorkerSet the bundle renders (tests/golden; for a DisaggregatedSet, the LWS its
controller creates per role) against both pdcheck's LWS schema and the upstream LWS CRD, and broken
variants of each that both must reject.

tests/test_schema.py holds the broken set for the reference LWS (BROKEN_FOR_BOTH, BROKEN_FOR_WEBHOOK);
it is reused here on the golden renders, plus breakages of fields only the bundle's LWS carry
(init containers, volumes, tolerations, probes, envFrom, ...).
"""

import copy
from pathlib import Path

import pytest
import yaml

from pdcheck.adapters import disaggregatedset
from pdcheck.objects import K8sObject
from pdcheck.schema import SchemaValidator
from reference_material import shared_path
from test_schema import BROKEN_FOR_BOTH, BROKEN_FOR_WEBHOOK, DELETE, as_path, mutate, summary

GOLDEN = Path(__file__).resolve().parent / "golden"
BOTH = "1.26,1.37"

WORKER = "spec.leaderWorkerTemplate.workerTemplate.spec"
ENGINE = f"{WORKER}.containers.0"

# Fields every golden LWS has (the reference LWS do not all): (path, value or DELETE, issue path).
BROKEN_GOLDEN = [
    (f"{WORKER}.hostNetwork", "true", f"{WORKER}.hostNetwork"),
    (f"{WORKER}.initContainers.0.image", 5, f"{WORKER}.initContainers.0.image"),
    (f"{WORKER}.volumes.0.nonsense", {}, f"{WORKER}.volumes.0.nonsense"),
    (f"{WORKER}.tolerations.0.tolerationSeconds", "60", f"{WORKER}.tolerations.0.tolerationSeconds"),
    (f"{WORKER}.terminationGracePeriodSeconds", "30", f"{WORKER}.terminationGracePeriodSeconds"),
    (f"{ENGINE}.resources.limits", ["nvidia.com/gpu"], f"{ENGINE}.resources.limits"),
    (f"{ENGINE}.env.0.name", DELETE, f"{ENGINE}.env.0"),
    (f"{ENGINE}.args", [16], f"{ENGINE}.args.0"),  # an unquoted number in args
    (f"{ENGINE}.envFrom.0.configMapRef", {"nam": "x"}, f"{ENGINE}.envFrom.0.configMapRef.nam"),
    (f"{ENGINE}.volumeMounts.0.mountPath", DELETE, f"{ENGINE}.volumeMounts.0"),
    (f"{ENGINE}.startupProbe.failureThreshold", "x", f"{ENGINE}.startupProbe.failureThreshold"),
    (f"{ENGINE}.securityContext.capabilities.add", "IPC_LOCK", f"{ENGINE}.securityContext.capabilities.add"),
    ("spec.leaderWorkerTemplate.size", "2", "spec.leaderWorkerTemplate.size"),
    ("spec.leaderWorkerTemplate.leaderTemplate", {"spec": {"containers": [{"image": "x"}]}},
     "spec.leaderWorkerTemplate.leaderTemplate.spec.containers.0"),  # container without a name
    ("metadata.annotations", {"a": 1}, "metadata.annotations.a"),
]


def golden_lws() -> dict[str, dict]:
    """Every golden LWS, and for a DisaggregatedSet the LWS its controller creates per role."""
    out = {}
    for path in sorted(GOLDEN.glob("*.yaml")):
        for i, doc in enumerate(yaml.safe_load_all(path.read_text())):
            if doc and doc.get("kind") == "LeaderWorkerSet":
                out[f"{path.stem}:{doc['metadata']['name']}"] = doc
            elif doc and doc.get("kind") == "DisaggregatedSet":
                for child in disaggregatedset.expand(K8sObject(doc, i)):
                    out[f"{path.stem}:{child.name}"] = copy.deepcopy(child.doc)
    return out


GOLDEN_LWS = golden_lws()


def test_every_golden_render_has_leaderworkersets():
    renders = {p.stem for p in GOLDEN.glob("*.yaml")}
    assert renders and {key.split(":")[0] for key in GOLDEN_LWS} == renders


@pytest.fixture(scope="module")
def validator():
    return SchemaValidator(BOTH.split(","))


@pytest.fixture(scope="module")
def crd_validator():
    return SchemaValidator(BOTH.split(","), crd_files=[shared_path("reference", "lws-crd-leaderworkersets.yaml")])


@pytest.mark.parametrize("key", GOLDEN_LWS)
def test_golden_lws_valid_for_project_schema(validator, key):
    assert validator.validate(GOLDEN_LWS[key]) == []


@pytest.mark.parametrize("key", GOLDEN_LWS)
def test_golden_lws_valid_for_upstream_crd(crd_validator, key):
    assert crd_validator.validate(GOLDEN_LWS[key]) == []


def broken(key: str, path: str, value) -> dict:
    doc = GOLDEN_LWS[key]
    return mutate(doc, path, delete=True) if value is DELETE else mutate(doc, path, value)


BROKEN = BROKEN_FOR_BOTH + BROKEN_GOLDEN


@pytest.mark.parametrize("path, value, issue_path", BROKEN)
@pytest.mark.parametrize("key", GOLDEN_LWS)
def test_broken_golden_lws_rejected_by_project_schema(validator, key, path, value, issue_path):
    assert summary(validator.validate(broken(key, path, value))) == [("invalid", BOTH, as_path(issue_path))]


@pytest.mark.parametrize("path, value, issue_path", BROKEN)
@pytest.mark.parametrize("key", GOLDEN_LWS)
def test_broken_golden_lws_rejected_by_upstream_crd(crd_validator, key, path, value, issue_path):
    assert summary(crd_validator.validate(broken(key, path, value))) == [("invalid", BOTH, as_path(issue_path))]


@pytest.mark.parametrize("path, value, issue_path", BROKEN_FOR_WEBHOOK)
@pytest.mark.parametrize("key", GOLDEN_LWS)
def test_webhook_rules_on_golden_lws(validator, crd_validator, key, path, value, issue_path):
    """The LWS admission webhook's rules: pdcheck's schema encodes them, the CRD alone accepts them
    (so validating with --crd only would let these through to the API server)."""
    doc = broken(key, path, value)
    assert summary(validator.validate(doc)) == [("invalid", BOTH, as_path(issue_path))]
    assert crd_validator.validate(doc) == []
