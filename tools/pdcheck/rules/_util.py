"""Small helpers shared by rules: finding engines, flag field paths, GPU counts, selectors."""

from __future__ import annotations

from ..model import ContainerRun, Model, PodRun, Workload

GPU_RESOURCES = ("nvidia.com/gpu", "amd.com/gpu")


def list_of(value) -> list:
    """value when it is a list, else [] (a mistyped field is the schema rule's to report)."""
    return value if isinstance(value, list) else []


def distinct_pods(wl: Workload):
    """One PodRun per distinct pod template of a workload (leader template, worker template).

    Ranks built from the same template differ only in LWS-injected values, so a template-level
    problem is reported once (at the leader) rather than once per rank.
    """
    seen = set()
    for pod in wl.pods:
        if pod.template_path not in seen:
            seen.add(pod.template_path)
            yield pod


def engine_containers(model: Model):
    """(workload, pod, container) for every SGLang engine container, one per distinct template."""
    for wl in model.workloads:
        for pod in distinct_pods(wl):
            if pod.engine is not None:
                yield wl, pod, pod.engine


def all_containers(model: Model):
    """(workload, pod, container) for every container of every distinct template."""
    for wl in model.workloads:
        for pod in distinct_pods(wl):
            for c in pod.init_containers + pod.containers:
                yield wl, pod, c


def flag_path(c: ContainerRun, flag: str) -> tuple:
    """Field path of the last occurrence of a flag, else of the container's args/command."""
    if c.parsed is not None:
        occurrences = c.parsed.occurrences(flag)
        if occurrences:
            return c.flag_path(occurrences[-1].index)
    return c.path + (("args",) if c.spec.get("args") else ("command",))


def gpu_count(c: ContainerRun) -> int | None:
    resources = c.spec.get("resources") if isinstance(c.spec.get("resources"), dict) else {}
    for section in ("limits", "requests"):
        values = resources.get(section) if isinstance(resources.get(section), dict) else {}
        for name in GPU_RESOURCES:
            if name in values:
                try:
                    return int(str(values[name]))
                except ValueError:
                    return None
    return None


def describe_pod(pod: PodRun) -> str:
    wl: Workload = pod.workload
    if not wl.is_lws:
        return f"{wl.kind} {wl.name}"
    if pod.rank == 0:
        return f"leader of {wl.name}" + ("" if wl.leader_template_path else " (worker template)")
    return f"workers of {wl.name}"
