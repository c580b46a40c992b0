"""What every pod will really run: LWS ranks, effective env, expanded argv, parsed SGLang/router flags.

The model follows what the API server, the LWS controller and kubelet do, in that order:
- LWS builds the leader from `leaderTemplate`, or from `workerTemplate` when it is omitted, labels
  pods with their group and worker index, and injects LWS_LEADER_ADDRESS, LWS_GROUP_SIZE and
  LWS_WORKER_INDEX ahead of the user's env, winning over user entries of the same name
  (kubernetes-sigs/lws pkg/utils/pod/pod_utils.go);
- kubelet builds the environment from `envFrom` then `env` (later wins), expanding `$(VAR)` in env
  values against what is defined before them, then expands `$(VAR)` in command and args
  (kubernetes pkg/kubelet/kubelet_pods.go makeEnvironmentVariables, expansion.Expand).
Values that only exist at run time (pod IP, Secrets, ...) are kept as `<placeholders>`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from typing import TYPE_CHECKING

from . import adapters
from .expand import expand
from .objects import K8sObject, Render

if TYPE_CHECKING:
    from .sglang import Layout

LWS_KIND = "LeaderWorkerSet"
LWS_PREFIX = "leaderworkerset.sigs.k8s.io/"
LWS_NAME_LABEL = LWS_PREFIX + "name"
LWS_GROUP_LABEL = LWS_PREFIX + "group-index"
LWS_WORKER_LABEL = LWS_PREFIX + "worker-index"
LWS_INJECTED = ("LWS_LEADER_ADDRESS", "LWS_GROUP_SIZE", "LWS_WORKER_INDEX")
# Ranks modelled per group: all of them for realistic sizes, else the leader, first and last worker.
MAX_MODELLED_RANKS = 16

# kind -> path of the pod template inside the object
POD_TEMPLATE_PATHS = {
    "Deployment": ("spec", "template"),
    "StatefulSet": ("spec", "template"),
    "DaemonSet": ("spec", "template"),
    "ReplicaSet": ("spec", "template"),
    "Job": ("spec", "template"),
    "CronJob": ("spec", "jobTemplate", "spec", "template"),
}


def dig(data, *path, default=None):
    """data[path[0]][path[1]]... or default when any step is missing or of the wrong type."""
    for key in path:
        if isinstance(key, int):
            if not isinstance(data, list) or not -len(data) <= key < len(data):
                return default
        elif not isinstance(data, dict) or key not in data:
            return default
        data = data[key]
    return data


def _mapping(value) -> dict:
    """A copy of value when it is a mapping, else {} (labels: [a, b] is for the schema rule to report)."""
    return dict(value) if isinstance(value, dict) else {}


def as_int(value, default=None):
    if isinstance(value, bool):
        return default
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            return default
    return default


def known_at_render(value) -> bool:
    """False for values only known when the pod runs: a `<placeholder>` (pod IP, Secret, ...) or a
    `$(VAR)` kubelet leaves literal; None (nothing to know) is not known either."""
    return value is not None and "<" not in str(value) and "$(" not in str(value)


@dataclass(frozen=True)
class Flag:
    """One option of a container's program as it will run, asked by option string ('--tp-size').

    `state` says where `value` comes from:
    - EXPLICIT: written in the argv (last occurrence wins, append options collect), value parsed;
    - DEFAULT: not written, value is the default of the catalog version the container runs;
    - RUNTIME: written, but the value is only known when the pod runs (`$(VAR)`, a fieldRef or
      Secret placeholder): `value` is None;
    - NO_OPTION: the program has no such option in this version (or no catalog): `value` is None.
    """

    EXPLICIT = "explicit"
    DEFAULT = "default"
    RUNTIME = "runtime"
    NO_OPTION = "no-option"

    option: str
    state: str
    value: object = None

    @property
    def written(self) -> bool:
        return self.state in (Flag.EXPLICIT, Flag.RUNTIME)

    @property
    def known(self) -> bool:
        return self.state in (Flag.EXPLICIT, Flag.DEFAULT)

    @property
    def exists(self) -> bool:
        """The program of this version has the option."""
        return self.state != Flag.NO_OPTION


@dataclass
class EnvVar:
    name: str
    value: str | None  # None: not known before the pod runs
    source: str  # 'lws' | 'env' | 'envFrom:ConfigMap/x' | 'fieldRef' | 'configMapKeyRef' | 'secret' | ...
    path: tuple = ()  # field path of the definition inside the object (empty for injected ones)
    raw: str | None = None  # the value as written, before $(VAR) expansion

    @property
    def display(self) -> str:
        return self.value if self.value is not None else f"<{self.source}>"


@dataclass
class ContainerRun:
    name: str
    index: int
    spec: dict
    path: tuple  # field path of the container inside the object
    image: str
    env: dict[str, EnvVar]
    raw_argv: list[str]  # command + args as written
    argv: list[str]  # after $(VAR) expansion
    command_len: int  # how many argv entries come from `command`
    unresolved: list[tuple[str, int]]  # ($(VAR) name, argv index) kubelet leaves literal
    env_unresolved: list[tuple[str, str]]  # ($(VAR) name, env var whose value references it)
    opaque_env: list[str]  # env sources whose keys are unknown here (Secrets, ConfigMaps not in the render)
    program: str | None = None  # 'sglang' | 'sglang-router' | None
    flags: list[str] = field(default_factory=list)  # argv after the launcher (python -m ...)
    flags_offset: int | None = 0  # argv index of flags[0]; None when the flags sit inside `sh -c "..."`
    parsed: object = None  # argv.ParsedArgv for known programs
    catalog_note: str | None = None  # why a catalog was chosen (e.g. the image pins no version)
    rank: int = 0  # the LWS worker index of the pod (0 for the leader and non-LWS pods)

    # --- flags: the one way to ask what the program will use --------------------------------

    def flag(self, option: str) -> Flag:
        """What the program will store for `option`: see Flag. Ask by option string, never by
        argparse dest: dests drift between releases (0.5.6 stores --tp-size as
        `tensor_parallel_size`, 0.5.23 as `tp_size`)."""
        if self.parsed is None:
            return Flag(option, Flag.NO_OPTION)
        try:
            dest = self.parsed.dest_of(option)
        except KeyError:
            return Flag(option, Flag.NO_OPTION)
        value = self.parsed.value(dest)
        if not self.parsed.raw(dest):
            return Flag(option, Flag.DEFAULT, value)
        if value is not None and not known_at_render(value):
            return Flag(option, Flag.RUNTIME)
        return Flag(option, Flag.EXPLICIT, value)

    def int_flag(self, option: str) -> int | None:
        """The flag's int value (written or default); None when unknown or not an int."""
        value = self.flag(option).value
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    def str_flag(self, option: str) -> str | None:
        """The flag's str value (written or default); None when unknown or not a str."""
        value = self.flag(option).value
        return value if isinstance(value, str) else None

    def bool_flag(self, option: str) -> bool:
        """True when the program will store True for the flag (a store_true written, or a True default)."""
        return self.flag(option).value is True

    @cached_property
    def layout(self) -> "Layout | None":
        """The parallel layout SGLang resolves from the flags (sglang.Layout); None for non-engines."""
        if self.program != "sglang" or self.parsed is None:
            return None
        from .sglang import layout

        return layout(self)

    def argv_path(self, i: int) -> tuple:
        """Field path of argv entry i (command[i] or args[i - len(command)])."""
        if i < self.command_len:
            return self.path + ("command", i)
        return self.path + ("args", i - self.command_len)

    def flag_path(self, flag_index: int) -> tuple:
        if self.flags_offset is None:  # inside a shell script: point at the script
            return self.argv_path(min(2, len(self.argv) - 1))
        return self.argv_path(self.flags_offset + flag_index)

    def env_value(self, name: str) -> str | None:
        var = self.env.get(name)
        return var.value if var else None


@dataclass
class PodRun:
    """One pod as it will run: a rank of an LWS group, or the pod of a Deployment-like object."""

    workload: "Workload"
    group: int
    rank: int
    name: str
    template: dict
    template_path: tuple
    labels: dict
    annotations: dict
    containers: list[ContainerRun] = field(default_factory=list)
    init_containers: list[ContainerRun] = field(default_factory=list)

    @property
    def spec(self) -> dict:
        spec = self.template.get("spec")
        return spec if isinstance(spec, dict) else {}

    @property
    def spec_path(self) -> tuple:
        return self.template_path + ("spec",)

    @property
    def is_leader(self) -> bool:
        return self.rank == 0

    @property
    def engine(self) -> ContainerRun | None:
        return next((c for c in self.containers if c.program == "sglang"), None)

    @property
    def router(self) -> ContainerRun | None:
        return next((c for c in self.containers if c.program == "sglang-router"), None)


@dataclass
class Workload:
    obj: K8sObject
    size: int  # pods per group (1 for non-LWS)
    replicas: int
    pods: list[PodRun] = field(default_factory=list)
    leader_template_path: tuple | None = None  # None when the leader uses the worker template
    worker_template_path: tuple | None = None

    @property
    def kind(self) -> str:
        return self.obj.kind

    @property
    def name(self) -> str:
        return self.obj.name

    @property
    def is_lws(self) -> bool:
        return self.obj.kind == LWS_KIND

    @property
    def leader(self) -> PodRun | None:
        return self.pods[0] if self.pods else None

    @property
    def workers(self) -> list[PodRun]:
        return self.pods[1:]

    @property
    def role(self) -> str | None:
        """'prefill' | 'decode' | 'null' for SGLang engines, 'router' for routers, else None (also for
        an engine whose --disaggregation-mode is only known at run time)."""
        leader = self.leader
        if leader is None:
            return None
        if leader.engine and leader.engine.layout is not None:
            return leader.engine.layout.role
        if leader.router:
            return "router"
        return None


@dataclass
class Model:
    render: Render
    workloads: list[Workload]
    config_maps: dict[tuple[str | None, str], K8sObject]
    # Objects that start SGLang in pods pdcheck cannot model (a kind without an adapter): rules that
    # would conclude "no such pod" stay silent where these may hold it (wrapper-kind-not-checked says so).
    unmodelled: list[K8sObject] = field(default_factory=list)

    def objects_of(self, kind: str) -> list[K8sObject]:
        return [o for o in self.render.objects if o.kind == kind]

    def engines_by_role(self, role: str) -> list[Workload]:
        return [w for w in self.workloads if w.role == role]

    @property
    def routers(self) -> list[tuple[Workload, ContainerRun]]:
        return [(w, w.leader.router) for w in self.workloads if w.leader and w.leader.router]


def build_model(render: Render, versions: dict[str, str | None] | None = None) -> Model:
    """Model every workload of a render. `versions` overrides catalogs: {'sglang': '0.5.6.post2', ...}."""
    config_maps = {(o.namespace, o.name): o for o in render.objects if o.kind == "ConfigMap" and o.name}
    overrides = versions or {}

    @lru_cache(maxsize=None)
    def catalog_for(program: str, image: str):
        """(catalog, why it was chosen) for a program in an image, once per pair."""
        from .catalog import select_catalog

        return select_catalog(program, image or None, overrides.get(program))

    workloads, unmodelled = [], []
    for obj in adapters.expand(render.objects):  # wrapper kinds become the objects their controllers create
        if obj.kind == LWS_KIND:
            workloads.append(_model_lws(obj, config_maps, catalog_for))
        elif obj.kind in POD_TEMPLATE_PATHS or obj.kind == "Pod":
            workloads.append(_model_plain(obj, config_maps, catalog_for))
        elif launches_sglang(obj):
            unmodelled.append(obj)
    return Model(render, workloads, config_maps, unmodelled)


# How SGLang is started: the server module, the `sglang serve` CLI, the router package.
SGLANG_LAUNCH = re.compile(r"(?<![\w.])(?:sglang\.launch_server|sglang_router|sglang\s+serve)\b")


def _strings(node):
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for value in node.values():
            yield from _strings(value)
    elif isinstance(node, list):
        yield " ".join(v for v in node if isinstance(v, str))  # command: [sglang, serve, ...]
        for value in node:
            yield from _strings(value)


def launches_sglang(obj: K8sObject) -> bool:
    """Whether any string in the object's spec starts SGLang or its router."""
    return any(SGLANG_LAUNCH.search(text) for text in _strings(obj.doc.get("spec")))


def lws_pod_name(lws: str, group: int, rank: int) -> str:
    return f"{lws}-{group}" if rank == 0 else f"{lws}-{group}-{rank}"


def modelled_ranks(size: int) -> list[int]:
    if size <= MAX_MODELLED_RANKS:
        return list(range(size))
    return [0, 1, size - 1]


def _model_lws(obj: K8sObject, config_maps, catalog_for) -> Workload:
    lwt_path = ("spec", "leaderWorkerTemplate")
    lwt = dig(obj.doc, *lwt_path, default={})
    size = as_int(dig(lwt, "size"), 1) if isinstance(lwt, dict) else 1
    size = max(size or 1, 1)
    replicas = as_int(dig(obj.doc, "spec", "replicas"), 1)
    replicas = 1 if replicas is None else replicas
    has_leader = isinstance(dig(lwt, "leaderTemplate"), dict)
    worker_path = lwt_path + ("workerTemplate",)
    leader_path = lwt_path + ("leaderTemplate",) if has_leader else None
    wl = Workload(obj, size, replicas, leader_template_path=leader_path, worker_template_path=worker_path)
    subdomain_policy = dig(obj.doc, "spec", "networkConfig", "subdomainPolicy", default="Shared")
    namespace = obj.namespace or "default"
    for rank in modelled_ranks(size):
        tpl_path = leader_path if (rank == 0 and leader_path) else worker_path
        template = dig(obj.doc, *tpl_path, default={})
        template = template if isinstance(template, dict) else {}
        group = 0
        pod_name = lws_pod_name(obj.name, group, rank)
        labels = _mapping(dig(template, "metadata", "labels"))
        labels.update({
            LWS_NAME_LABEL: obj.name,
            LWS_GROUP_LABEL: str(group),
            LWS_WORKER_LABEL: str(rank),
            LWS_PREFIX + "group-key": "<group-key>",
            LWS_PREFIX + "template-revision-hash": "<revision>",
        })
        annotations = _mapping(dig(template, "metadata", "annotations"))
        annotations.update({LWS_PREFIX + "size": str(size), LWS_PREFIX + "replicas": str(replicas)})
        if rank == 0:
            annotations[LWS_PREFIX + "leader-name"] = pod_name
        subdomain = obj.name if subdomain_policy != "UniquePerReplica" else f"{obj.name}-{group}"
        injected = {
            "LWS_LEADER_ADDRESS": f"{lws_pod_name(obj.name, group, 0)}.{subdomain}.{namespace}",
            "LWS_GROUP_SIZE": str(size),
            "LWS_WORKER_INDEX": str(rank),
        }
        pod = PodRun(wl, group, rank, pod_name, template, tpl_path, labels, annotations)
        _fill_containers(pod, obj, config_maps, catalog_for, injected)
        wl.pods.append(pod)
    return wl


def _model_plain(obj: K8sObject, config_maps, catalog_for) -> Workload:
    if obj.kind == "Pod":
        tpl_path: tuple = ()
        template = obj.doc
        name = obj.name
    else:
        tpl_path = POD_TEMPLATE_PATHS[obj.kind]
        template = dig(obj.doc, *tpl_path, default={})
        template = template if isinstance(template, dict) else {}
        name = f"{obj.name}-<hash>"
    replicas = as_int(dig(obj.doc, "spec", "replicas"), 1) if obj.kind in ("Deployment", "StatefulSet", "ReplicaSet") else 1
    wl = Workload(obj, 1, 1 if replicas is None else replicas, worker_template_path=tpl_path)
    labels = _mapping(dig(template, "metadata", "labels"))
    annotations = _mapping(dig(template, "metadata", "annotations"))
    pod = PodRun(wl, 0, 0, name, template, tpl_path, labels, annotations)
    _fill_containers(pod, obj, config_maps, catalog_for, {})
    wl.pods.append(pod)
    return wl


def _fill_containers(pod: PodRun, obj: K8sObject, config_maps, catalog_for, injected: dict[str, str]) -> None:
    spec = pod.spec
    for key, target in (("containers", pod.containers), ("initContainers", pod.init_containers)):
        items = spec.get(key)
        if not isinstance(items, list):
            continue
        for i, c in enumerate(items):
            if isinstance(c, dict):
                target.append(_model_container(pod, obj, c, i, pod.spec_path + (key, i), config_maps, catalog_for, injected))


def _field_ref(pod: PodRun, obj: K8sObject, field_path: str) -> str | None:
    if field_path == "metadata.name":
        return pod.name
    if field_path == "metadata.namespace":
        return obj.namespace or "default"
    for prefix, source in (("metadata.labels['", pod.labels), ("metadata.annotations['", pod.annotations)):
        if field_path.startswith(prefix) and field_path.endswith("']"):
            value = source.get(field_path[len(prefix) : -2])
            return None if value is None else str(value)
    if field_path == "spec.serviceAccountName":
        account = pod.spec.get("serviceAccountName")
        return account if isinstance(account, str) and account else "default"
    return None


def _model_container(pod, obj, c: dict, index: int, path: tuple, config_maps, catalog_for, injected) -> ContainerRun:
    env: dict[str, EnvVar] = {}
    opaque: list[str] = []
    env_unresolved: list[tuple[str, str]] = []
    namespace = obj.namespace

    env_from = c.get("envFrom")
    for j, source in enumerate(env_from if isinstance(env_from, list) else []):
        if not isinstance(source, dict):
            continue
        prefix = source.get("prefix") if isinstance(source.get("prefix"), str) else ""
        cm_ref = source.get("configMapRef")
        if isinstance(cm_ref, dict) and isinstance(cm_ref.get("name"), str):
            cm = config_maps.get((namespace, cm_ref["name"]))
            data = dig(cm.doc, "data", default={}) if cm else None
            if isinstance(data, dict):
                for key, value in data.items():
                    env[f"{prefix}{key}"] = EnvVar(f"{prefix}{key}", None if value is None else str(value),
                                                   f"envFrom:ConfigMap/{cm_ref['name']}", path + ("envFrom", j))
            else:
                opaque.append(f"ConfigMap/{cm_ref['name']}")
        elif isinstance(source.get("secretRef"), dict):
            opaque.append(f"Secret/{source['secretRef'].get('name')}")

    for name, value in injected.items():
        env[name] = EnvVar(name, value, "lws")

    entries = c.get("env")
    for j, entry in enumerate(entries if isinstance(entries, list) else []):
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            continue
        name = entry["name"]
        if name in injected:
            continue  # LWS puts its own value first and drops the user's
        epath = path + ("env", j)
        if "value" in entry and not isinstance(entry.get("valueFrom"), dict):
            raw = "" if entry["value"] is None else str(entry["value"])
            missing: list[str] = []
            value = expand(raw, lambda n: env[n].value if n in env else None, missing)
            env_unresolved.extend((m, name) for m in missing if m not in env)
            env[name] = EnvVar(name, value, "env", epath, raw)
            continue
        value_from = entry.get("valueFrom") if isinstance(entry.get("valueFrom"), dict) else {}
        if isinstance(value_from.get("fieldRef"), dict):
            fp = str(value_from["fieldRef"].get("fieldPath", ""))
            env[name] = EnvVar(name, _field_ref(pod, obj, fp), f"fieldRef:{fp}", epath)
        elif isinstance(value_from.get("configMapKeyRef"), dict):
            ref = value_from["configMapKeyRef"]
            cm = config_maps.get((namespace, ref.get("name"))) if isinstance(ref.get("name"), str) else None
            value = dig(cm.doc, "data", ref.get("key")) if cm and isinstance(ref.get("key"), str) else None
            env[name] = EnvVar(name, None if value is None else str(value), f"configMapKeyRef:{ref.get('name')}", epath)
        elif isinstance(value_from.get("secretKeyRef"), dict):
            env[name] = EnvVar(name, None, f"secret:{value_from['secretKeyRef'].get('name')}", epath)
        else:
            env[name] = EnvVar(name, None, "valueFrom", epath)

    command = [str(x) for x in c.get("command", []) if x is not None] if isinstance(c.get("command"), list) else []
    args = [str(x) for x in c.get("args", []) if x is not None] if isinstance(c.get("args"), list) else []
    raw_argv = command + args
    argv, unresolved = [], []
    for i, item in enumerate(raw_argv):
        missing: list[str] = []
        argv.append(expand(item, lambda n: env[n].display if n in env else None, missing))
        unresolved.extend((m, i) for m in missing)

    image = c.get("image") if isinstance(c.get("image"), str) else ""
    run = ContainerRun(
        name=str(c.get("name", "")), index=index, spec=c, path=path, image=image, env=env,
        raw_argv=raw_argv, argv=argv, command_len=len(command), unresolved=unresolved,
        env_unresolved=env_unresolved, opaque_env=opaque, rank=pod.rank,
    )
    _parse_program(run, catalog_for)
    return run


def _parse_program(run: ContainerRun, catalog_for) -> None:
    from .argv import parse_argv, split_launcher

    program, flags = split_launcher(run.argv)
    if program is None:
        return
    run.program = program
    run.flags = flags
    tail = len(run.argv) - len(flags)
    run.flags_offset = tail if run.argv[tail:] == flags else None
    catalog, note = catalog_for(program, run.image)
    run.catalog_note = note
    run.parsed = parse_argv(flags, catalog)
