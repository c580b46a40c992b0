"""Which prefill and decode engines work together: per PD router the engines it reaches on each
side; without a PD router, every prefill with every decode engine of the render (same namespace,
and for NVIDIA Dynamo workers the same Dynamo namespace)."""

from __future__ import annotations

from ...model import DYNAMO_WORKER, Model, Workload, known_at_render
from .._k8s import may_share_namespace, ns_of
from .._router import is_pd, leader_engine, router_engines
from .._util import flag_path


def pd_pairs(model: Model) -> list[tuple[Workload, Workload]]:
    pairs: list[tuple[Workload, Workload]] = []
    routers = [(wl, c) for wl, c in model.routers if is_pd(c)]
    if routers:
        for wl, c in routers:
            sides = router_engines(model, wl, c)
            for p in sides["prefill"]:
                for d in sides["decode"]:
                    if p.role == "prefill" and d.role == "decode" and (p, d) not in pairs:
                        pairs.append((p, d))
        return pairs
    prefills, decodes = model.engines_by_role("prefill"), model.engines_by_role("decode")
    return [(p, d) for p in prefills for d in decodes
            if may_share_namespace(ns_of(p.obj), ns_of(d.obj)) and not _other_dynamo_namespaces(p, d)]


def _other_dynamo_namespaces(p: Workload, d: Workload) -> bool:
    """Both are NVIDIA Dynamo workers registered in different Dynamo namespaces (DYN_NAMESPACE):
    Dynamo pairs prefill and decode only within one namespace, so they never work together."""
    pe, de = leader_engine(p), leader_engine(d)
    if pe is None or de is None or pe.launcher != DYNAMO_WORKER or de.launcher != DYNAMO_WORKER:
        return False
    pn, dn = pe.env_value("DYN_NAMESPACE"), de.env_value("DYN_NAMESPACE")
    return isinstance(pn, str) and isinstance(dn, str) and known_at_render(pn) and known_at_render(dn) and pn != dn


def attn_tp(c) -> int | None:
    """Attention TP size: tp / (attention DP width x attention CP)."""
    tp, attn_dp = c.layout.tp, c.layout.attn_dp
    cp = c.int_flag("--attn-cp-size") if c.flag("--attn-cp-size").exists else 1
    if None in (tp, attn_dp, cp) or min(tp, attn_dp, cp) < 1:
        return None
    if tp % (attn_dp * cp):
        return None  # check_server_args rejects it; another rule's business
    return tp // (attn_dp * cp)


def compare(model: Model, flag: str, value_of, explain: str, fix):
    """Yield (decode wl, path, message, fix) for every pair whose values differ (both known)."""
    from ..base import Problem

    for p, d in pd_pairs(model):
        pv, dv = value_of(leader_engine(p)), value_of(leader_engine(d))
        if pv is None or dv is None or not known_at_render(pv) or not known_at_render(dv) or pv == dv:
            continue
        yield Problem(d.obj, flag_path(leader_engine(d), flag),
                      f"decode {d.name} has {flag} {dv} but prefill {p.name} has {pv}: {explain}",
                      fix(p, d, pv, dv))
