"""wrapper-kind-not-checked: SGLang inside a kind pdcheck cannot model gets one grouped warning per
kind, with and without --crd; what pdcheck does model (and other engines) gets none."""

import copy

import pytest
import yaml
from ruletest import baseline, rules_fired, run_rules

from pdcheck.checker import Context, Options, check_render, enabled_rules
from pdcheck.config import Config
from pdcheck.objects import Render
from pdcheck.render import objects_from_stream

RULE = "wrapper-kind-not-checked"
CRD = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": "servers.example.com"},
    "spec": {
        "group": "example.com",
        "names": {"kind": "Server", "plural": "servers", "singular": "server", "listKind": "ServerList"},
        "scope": "Namespaced",
        "versions": [{"name": "v1", "served": True, "storage": True, "schema": {"openAPIV3Schema": {
            "type": "object",
            "properties": {"spec": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}},
        }}}],
    },
}


def server(name: str, command: list[str], api_version: str = "example.com/v1", kind: str = "Server") -> dict:
    return {"apiVersion": api_version, "kind": kind, "metadata": {"name": name},
            "spec": {"engine": {"template": {"spec": {"containers": [{"name": "c", "image": "x", "command": command}]}}}}}


SGLANG = ["python3", "-m", "sglang.launch_server", "--model-path", "/m"]


def warnings_of(docs, **kwargs):
    return [f for f in run_rules(docs, **kwargs) if f.rule == RULE]


def test_48_objects_of_one_kind_give_one_warning():
    docs = [server(f"s{i}", SGLANG) for i in range(48)]
    [f] = warnings_of(docs)
    assert f.object == "Server/s0" and f.path_text == "kind"
    assert "48 Server objects (s0, s1, s2 and 45 more)" in f.message
    assert "example.com/v1 Server" in f.message


def test_one_warning_per_kind():
    docs = [server("a", SGLANG), server("b", ["sglang", "serve", "--model-path", "/m"], kind="Other"),
            server("c", ["sh", "-c", "exec python -m sglang_router.launch_router --pd-disaggregation"], kind="Other")]
    found = {f.object: f.message for f in warnings_of(docs)}
    assert set(found) == {"Server/a", "Other/b"}
    assert "1 Server object (a)" in found["Server/a"] and "2 Other objects (b, c)" in found["Other/b"]


def fired_with_crd(docs, crd) -> set[str]:
    objects, non_objects = objects_from_stream(yaml.safe_dump_all(docs), "test.yaml", None)
    ctx = Context(Config(), None, [crd])
    findings, _ = check_render(Render("test.yaml", "file", objects, non_objects), ctx, Options(paths=[]), enabled_rules(ctx.config))
    return {f.rule for f in findings}


def test_crd_validates_the_object_but_does_not_silence_the_warning(tmp_path):
    crd = tmp_path / "crd.yaml"
    crd.write_text(yaml.safe_dump(CRD))
    docs = [server("a", SGLANG)]
    assert rules_fired(docs) == {"schema-unknown-kind", RULE}
    assert fired_with_crd(docs, crd) == {RULE}
    broken = server("b", SGLANG)
    broken["spec"] = "not an object"
    assert fired_with_crd([broken], crd) == {"schema-invalid"}  # the CRD is really applied; no launch in a string spec


@pytest.mark.parametrize("docs", [
    pytest.param([server("v", ["vllm", "serve", "meta-llama/Llama-3.1-8B"])], id="vllm-in-an-unknown-kind"),
    pytest.param([{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "launch"},
                   "data": {"run.sh": "python3 -m sglang.launch_server"}}], id="script-in-a-configmap"),
    pytest.param([server("t", ["echo", "mysglang.launch_serverless"])], id="no-sglang-launch-word"),
])
def test_near_misses_stay_quiet(docs):
    assert warnings_of(docs) == []


def test_modelled_kinds_are_not_reported():
    assert RULE not in rules_fired(baseline())  # LeaderWorkerSets, a Deployment
    assert RULE not in rules_fired(baseline("disaggregatedset.yaml"))  # a kind with an adapter


def test_a_dynamo_component_deployment_is_reported():
    """A standalone DynamoComponentDeployment has no adapter: its `python3 -m dynamo.sglang` worker is
    an SGLang launch, so the kind is named; a DynamoGraphDeployment has one and is not."""
    dcd = {"apiVersion": "nvidia.com/v1beta1", "kind": "DynamoComponentDeployment", "metadata": {"name": "decode"},
           "spec": {"backendFramework": "sglang", "type": "decode", "podTemplate": {"spec": {"containers": [
               {"name": "main", "image": "x", "command": ["python3", "-m", "dynamo.sglang"], "args": ["--tp", "2"]}]}}}}
    [f] = warnings_of([dcd])
    assert "nvidia.com/v1beta1 DynamoComponentDeployment" in f.message
    assert RULE not in rules_fired(baseline("dynamographdeployment.yaml"))


def test_a_version_the_adapter_does_not_know_is_reported():
    ds = copy.deepcopy(baseline("disaggregatedset.yaml")[0])
    ds["apiVersion"] = "disaggregatedset.x-k8s.io/v1alpha1"
    [f] = warnings_of([ds])
    assert "disaggregatedset.x-k8s.io/v1alpha1 DisaggregatedSet" in f.message


def with_decode_from_unknown_kind(namespace: str | None = None, rbg_namespace: str | None = None) -> list[dict]:
    """The baseline whose decode Service selects pods that an unmodelled kind would create."""
    docs = baseline()
    svc = next(d for d in docs if d["kind"] == "Service" and d["metadata"]["name"] == "r1-decode-leader")
    svc["spec"]["selector"] = {"app": "decode-from-operator"}
    unknown = server("decoder", SGLANG + ["--disaggregation-mode", "decode"])
    for doc, ns in [(d, namespace) for d in docs] + [(unknown, rbg_namespace)]:
        if ns:
            doc["metadata"]["namespace"] = ns
    return docs + [unknown]


def test_a_service_reaching_pods_of_an_unmodelled_kind_is_no_error():
    assert rules_fired(with_decode_from_unknown_kind()) == {"schema-unknown-kind", RULE}


def test_an_unmodelled_kind_in_another_namespace_does_not_hide_an_empty_service():
    fired = rules_fired(with_decode_from_unknown_kind("serving", "elsewhere"))
    assert fired == {"schema-unknown-kind", RULE, "router-url-target"}
