from ...findings import Severity
from ...model import as_int
from .. import _links as L
from .._router import BOOTSTRAP_ANNOTATION, bootstrap_port, discovered_pods, is_pd, uses_discovery
from ..base import Problem, Rule


def check(model, ctx):
    for wl, c in model.routers:
        if not is_pd(c) or not uses_discovery(c):
            continue
        prefill = discovered_pods(model, wl, c, "prefill")
        decode = discovered_pods(model, wl, c, "decode")
        if prefill is None:
            continue
        decode_ports = {}
        for p in (decode[1] if decode else []):
            if p.rank == 0 and p.engine is not None and p.workload.role == "decode" and bootstrap_port(p.engine) is not None:
                decode_ports.setdefault(bootstrap_port(p.engine), p.workload.name)
        seen = set()  # one leader per workload: every group's leader has the same template
        for pod in prefill[1]:
            if pod.rank != 0 or pod.engine is None or pod.workload.role != "prefill" or id(pod.workload) in seen:
                continue
            seen.add(id(pod.workload))
            want = bootstrap_port(pod.engine)
            if want is None:
                continue
            raw = pod.annotations.get(BOOTSTRAP_ANNOTATION)
            value = as_int(raw) if isinstance(raw, str) and raw.isdigit() else None  # as_int: '²' is a digit too
            value = value if value is not None and value < 65536 else None
            meta = pod.template_path + ("metadata",)
            if value is not None:
                if value != want:
                    yield Problem(pod.workload.obj, meta + ("annotations", BOOTSTRAP_ANNOTATION),
                                  f"leader pods of {pod.workload.name} are annotated {BOOTSTRAP_ANNOTATION}: \"{raw}\", but their --disaggregation-bootstrap-port is {want}",
                                  f"set the annotation to \"{want}\"")
                continue
            wrong = {port: name for port, name in decode_ports.items() if port != want}
            if wrong:
                port, name = next(iter(wrong.items()))
                what = "no" if raw is None else f"an unparsable ({raw!r})"
                yield Problem(pod.workload.obj, meta + (("annotations", BOOTSTRAP_ANNOTATION) if raw is not None else ()),
                              f"leader pods of {pod.workload.name} carry {what} {BOOTSTRAP_ANNOTATION} annotation, so decode {name} dials its own bootstrap port {port}, but prefill's --disaggregation-bootstrap-port is {want}",
                              f"annotate the prefill pod template with {BOOTSTRAP_ANNOTATION}: \"{want}\"")


RULE = Rule(
    id="router-sd-bootstrap-annotation", severity=Severity.ERROR,
    summary="Discovered prefill pods do not announce their bootstrap port",
    doc="""A discovery router learns a prefill pod's bootstrap port only from the pod annotation
`sglang.ai/bootstrap-port` (service_discovery.rs `PodInfo::from_pod`, parsed as u16; anything else
counts as absent) and passes it as `bootstrap_port`. Without it decode uses its own
`--disaggregation-bootstrap-port` (SGLang scheduler.py). If that, or the annotation, differs from
prefill's `--disaggregation-bootstrap-port`, decode dials a closed port and every request hangs in
the KV handshake (sglang#11747, #9266). Missing annotations are only reported when decode's port differs.""",
    links=(L.SERVICE_DISCOVERY, L.SCHEDULER, L.ISSUE + "11747"),
    check=check,
)
