"""needs-newer-kubernetes: a field only a Kubernetes release newer than the oldest checked accepts."""

import pytest
import yaml

from pdcheck.checker import Context, Options, check_render, enabled_rules
from pdcheck.config import Config
from pdcheck.objects import Render
from pdcheck.render import objects_from_stream
from pdcheck.schema.bundle import default_k8s_versions

from ruletest import baseline, pod_spec

P, R = "r1-prefill", "r1-router"
SIDECAR = {"name": "log-shipper", "image": "busybox:1.36", "restartPolicy": "Always",
           "command": ["sh", "-c", "tail -F /var/log/x"],
           "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}, "limits": {"memory": "32Mi"}}}


def findings(docs, k8s_versions=None):
    text = yaml.safe_dump_all(docs, sort_keys=False)
    objects, non_objects = objects_from_stream(text, "test.yaml", None)
    ctx = Context(Config(), k8s_versions, [])
    found, _ = check_render(Render("test.yaml", "file", objects, non_objects), ctx, Options(paths=[]), enabled_rules(ctx.config))
    return [(f.rule, f.severity.value, f.path_text, f.message) for f in found]


def with_sidecar(docs, name=P):
    pod_spec(docs, name)["initContainers"] = [dict(SIDECAR)]
    return docs


def with_pod_resources(docs):
    pod_spec(docs, R)["resources"] = {"limits": {"cpu": "2", "memory": "2Gi"}}  # pod-level: 1.32+
    return docs


@pytest.mark.parametrize("versions, since", [(["1.26", "1.37"], "1.29"), (["1.28"], "1.29"), (["1.27", "1.30"], "1.29")])
def test_a_native_sidecar_below_1_29_needs_newer_kubernetes(versions, since):
    (finding,) = findings(with_sidecar(baseline()), versions)
    rule, severity, path, message = finding
    assert (rule, severity) == ("needs-newer-kubernetes", "error")  # the versions were configured
    assert path.endswith("initContainers[0].restartPolicy")
    assert f"needs Kubernetes >= {since} (native sidecar containers" in message and f"start at {versions[0]}" in message


@pytest.mark.parametrize("versions", [["1.29", "1.37"], ["1.33"], None])
def test_a_native_sidecar_from_1_29_is_clean(versions):
    assert findings(with_sidecar(baseline()), versions) == []


def test_a_field_newer_than_the_default_floor_is_a_warning():
    if tuple(map(int, default_k8s_versions()[0].split("."))) >= (1, 32):
        pytest.skip("the default floor already has pod-level resources")
    (finding,) = findings(with_pod_resources(baseline()))
    assert finding[:3] == ("needs-newer-kubernetes", "warning", "spec.template.spec.resources")
    assert "needs Kubernetes >= 1.32 (the first release whose API has the field)" in finding[3]


def test_a_typo_is_still_schema_invalid():
    docs = baseline()
    pod_spec(docs, R)["containers"][0]["resourcez"] = {}
    assert [f[0] for f in findings(docs, ["1.26", "1.37"])] == ["schema-invalid"]


def test_the_default_floor_follows_the_support_window():
    floor, newest = default_k8s_versions()
    assert int(newest.split(".")[1]) - int(floor.split(".")[1]) == 6


# --- ignore-unknown-rule ------------------------------------------------------------------------

def with_ignore(docs, value, name=P):
    find_lws = next(d for d in docs if d["kind"] == "LeaderWorkerSet" and d["metadata"]["name"] == name)
    find_lws["metadata"].setdefault("annotations", {})["pdcheck.io/ignore"] = value
    return docs


def test_a_misspelt_ignore_id_is_reported_with_the_nearest_id():
    (finding,) = findings(with_ignore(baseline(), "tp-gpu-missmatch, env-drift"))
    rule, severity, path, message = finding
    assert (rule, severity, path) == ("ignore-unknown-rule", "warning", "metadata.annotations.pdcheck.io/ignore")
    assert "'tp-gpu-missmatch', which is not a pdcheck rule" in message and "did you mean 'tp-gpu-mismatch'?" in message


def test_an_ignore_id_like_no_rule_gets_no_suggestion():
    (finding,) = findings(with_ignore(baseline(), "xyzzy"))
    assert finding[0] == "ignore-unknown-rule" and "did you mean" not in finding[3]


@pytest.mark.parametrize("value", ["tp-gpu-mismatch", "all", " env-drift , tp-gpu-mismatch ", ""])
def test_known_ignore_ids_and_all_are_clean(value):
    assert findings(with_ignore(baseline(), value)) == []


# --- which schema a schema-invalid finding names ------------------------------------------------

def test_lws_fields_name_the_lws_schema_and_pod_template_fields_the_kubernetes_versions():
    docs = baseline()
    template = next(d for d in docs if d["kind"] == "LeaderWorkerSet")["spec"]["leaderWorkerTemplate"]
    template["sizee"] = 2  # LWS's own field
    template["workerTemplate"]["spec"]["containers"][0]["imagee"] = "x"  # the core PodTemplateSpec LWS embeds
    by_path = {path: message for rule, _, path, message in findings(docs, ["1.29", "1.37"]) if rule == "schema-invalid"}
    assert by_path["spec.leaderWorkerTemplate.sizee"].endswith("(LeaderWorkerSet leaderworkerset.x-k8s.io/v1 schema)")
    assert "Kubernetes" not in by_path["spec.leaderWorkerTemplate.sizee"]
    assert by_path["spec.leaderWorkerTemplate.workerTemplate.spec.containers[0].imagee"].endswith("(Kubernetes 1.29,1.37 schema)")
