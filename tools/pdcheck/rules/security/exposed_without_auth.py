from ...findings import Severity
from .._k8s import map_selector_matches, surely_share_namespace
from ..base import Problem, Rule

EXPOSED_TYPES = ("NodePort", "LoadBalancer")


def check(model, ctx):
    for svc in model.objects_of("Service"):
        spec = svc.doc.get("spec") if isinstance(svc.doc.get("spec"), dict) else {}
        svc_type = spec.get("type")
        if svc_type not in EXPOSED_TYPES:
            continue
        selector = spec.get("selector")
        for wl in model.workloads:
            if not surely_share_namespace(svc.namespace, wl.obj.namespace):
                continue
            seen = set()
            for pod in wl.pods:  # every rank: a selector may pick one by an injected label (pod-index)
                if pod.template_path in seen or not map_selector_matches(selector, pod.labels):
                    continue
                seen.add(pod.template_path)
                for c in pod.containers:
                    if c.program not in ("sglang", "sglang-router") or c.flag("--api-key").written:
                        continue
                    what = "router" if c.program == "sglang-router" else f"SGLang engine ({wl.name})"
                    yield Problem(svc, ("spec", "type"),
                                  f"Service {svc.name} ({svc_type}) exposes the {what} outside the cluster and "
                                  f"{wl.kind} {wl.name} runs it without --api-key",
                                  "keep the Service ClusterIP behind an authenticating Ingress/Gateway, or start the "
                                  "program with --api-key read from a Secret (profiles/security/api-key)")
                    break


RULE = Rule(
    id="exposed-without-auth",
    severity=Severity.ERROR,
    summary="Router or engine exposed through a NodePort/LoadBalancer Service without --api-key",
    doc="""A NodePort Service listens on every node's IP, a LoadBalancer Service on an address outside
the cluster: anyone who reaches them gets the OpenAI-compatible API, i.e. free GPU time, the model
(and whatever the prompts of others leave in logs and caches). sglang-router and SGLang both
accept `--api-key`: sglang-router 0.3.2 then answers 401 without `Authorization: Bearer <key>` on
the generation and worker-management routes (`/generate`, `/v1/chat/completions`, `/workers`,
`/flush_cache`; `/health`, `/readiness`, `/v1/models` stay open for probes) and forwards the key to
the engines; SGLang's own middleware protects every engine route but `/health` and `/metrics`.
This rule looks only at Services: an Ingress or Gateway may authenticate in front of a ClusterIP
Service, which pdcheck cannot see. hostNetwork engines are reachable on their node's IP without any
Service: see docs/security.md.""",
    links=(
        "https://kubernetes.io/docs/concepts/services-networking/service/#type-nodeport",
        "https://pypi.org/project/sglang-router/0.3.2/",
    ),
    check=check,
)
