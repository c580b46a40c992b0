"""The DisaggregatedSet variants of the bundle (profiles/disaggregatedset) deploy the same pods as
the overlay they wrap: same pod templates, sizes and replicas, Services and router that reach the
same leaders. The LWS invariants of test_bundle.py are checked on the wrapped overlay."""


import pytest
import yaml
from test_bundle import DISAGG_TWINS, LWS_KIND, render

from pdcheck.model import build_model
from pdcheck.objects import Render
from pdcheck.render import objects_from_stream
from pdcheck.rules._router import static_urls
from pdcheck.schema import SchemaValidator
from reference_material import shared_path

DS_KIND = "DisaggregatedSet"
VARIANTS = sorted(DISAGG_TWINS)
ROLE_OF_LWS = {"sglang-prefill": "prefill", "sglang-decode": "decode"}
DS_SELECTOR = {"disaggregatedset.x-k8s.io/name": "sglang-pd"}


def test_there_is_a_disaggregatedset_variant():
    assert "h800-bond-disagg" in VARIANTS and DISAGG_TWINS["h800-bond-disagg"] == "h800-bond"


def pdcheck_annotations(obj) -> dict:
    annotations = (obj.get("metadata") or {}).get("annotations") or {}
    return {k: v for k, v in annotations.items() if k.startswith("pdcheck.io/")}


def key(obj) -> tuple:
    return obj["kind"], obj["metadata"]["name"]


@pytest.mark.parametrize("overlay", VARIANTS)
def test_roles_are_the_leaderworkersets_of_the_wrapped_overlay(overlay):
    wrapped = {key(o): o for o in render(DISAGG_TWINS[overlay])}
    variant = {key(o): o for o in render(overlay)}
    [ds] = [o for o in variant.values() if o["kind"] == DS_KIND]
    assert not [k for k in variant if k[0] == LWS_KIND]
    roles = {r["name"]: r for r in ds["spec"]["roles"]}
    assert set(roles) == set(ROLE_OF_LWS.values())
    for lws, role in ROLE_OF_LWS.items():
        assert roles[role]["spec"] == wrapped[(LWS_KIND, lws)]["spec"], role
        # pdcheck's suppressions on an LWS are on its role (the controller copies them to the LWS)
        assert pdcheck_annotations(roles[role]) == pdcheck_annotations(wrapped[(LWS_KIND, lws)]), role
    assert ds["metadata"]["namespace"] == wrapped[(LWS_KIND, "sglang-prefill")]["metadata"]["namespace"]
    # Everything else is the same object, except that the leader Services select the role by the
    # labels the DisaggregatedSet controller sets instead of by LWS name.
    others = {k for k in wrapped if k[0] != LWS_KIND}
    assert others == {k for k in variant if k[0] != DS_KIND}
    for k in others:
        if k[0] == "Service" and k[1] in (f"{lws}-leader" for lws in ROLE_OF_LWS):
            old, new = wrapped[k]["spec"].pop("selector"), variant[k]["spec"].pop("selector")
            role = ROLE_OF_LWS[old.pop("leaderworkerset.sigs.k8s.io/name")]
            assert new == {**old, **DS_SELECTOR, "disaggregatedset.x-k8s.io/role": role}
        assert variant[k] == wrapped[k], k


@pytest.mark.parametrize("overlay", VARIANTS)
def test_disaggregatedset_validates_against_the_upstream_crd_and_the_bundled_schema(overlay):
    crd = shared_path("reference", "lws-crd-disaggregatedsets.yaml")
    [ds] = [o for o in render(overlay) if o["kind"] == DS_KIND]
    assert SchemaValidator(crd_files=[crd]).validate(ds) == []
    assert SchemaValidator().validate(ds) == []


def model(overlay: str):
    text = yaml.safe_dump_all(render(overlay), sort_keys=False)
    objects, non_objects = objects_from_stream(text, overlay, None)
    return build_model(Render(overlay, "file", objects, non_objects))


def reached(overlay: str) -> dict[str, list[tuple]]:
    """Per router URL role: (engine role, rank, argv with LWS names made generic, port) of the pods it reaches."""
    m = model(overlay)
    [(wl, router)] = m.routers
    out = {}
    for url in static_urls(m, wl, router):
        out[url.role] = [(p.workload.role, p.rank, [a.replace(p.workload.name, "<lws>") for a in p.engine.argv],
                          url.target.target_port(url.port, p)) for p in url.target.pods]
    return out


@pytest.mark.parametrize("overlay", VARIANTS)
def test_services_and_router_reach_the_same_leaders(overlay):
    variant, wrapped = reached(overlay), reached(DISAGG_TWINS[overlay])
    assert set(variant) == {"prefill", "decode"}
    for role in ("prefill", "decode"):
        assert [p[:2] for p in variant[role]] == [(role, 0)]  # the leader of the right role, nothing else
        assert variant[role] == wrapped[role]
