"""What every pod will really run: LWS ranks, effective env, expanded argv, parsed SGLang/router flags.

The model follows what the API server, the LWS controller and kubelet do, in that order:
- LWS builds the leader from `leaderTemplate`, or from `workerTemplate` when it is omitted, labels
  pods with their group and worker index (and, as it runs them as StatefulSets, the StatefulSet
  controller adds pod-name and pod-index labels), and injects LWS_LEADER_ADDRESS, LWS_GROUP_SIZE and
  LWS_WORKER_INDEX ahead of the user's env, winning over user entries of the same name
  (kubernetes-sigs/lws pkg/utils/pod/pod_utils.go);
- a StatefulSet runs one pod per ordinal, named and labelled after it; Deployments, DaemonSets and
  Jobs add their own labels (a template hash is `<unknown>` here);
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
from .expand import expand, is_variable_reference
from .objects import K8sObject, Render
from .shell import shell_invocation

if TYPE_CHECKING:
    from .sglang import Layout

LWS_KIND = "LeaderWorkerSet"
LWS_PREFIX = "leaderworkerset.sigs.k8s.io/"
LWS_NAME_LABEL = LWS_PREFIX + "name"
LWS_GROUP_LABEL = LWS_PREFIX + "group-index"
LWS_WORKER_LABEL = LWS_PREFIX + "worker-index"
LWS_INJECTED = ("LWS_LEADER_ADDRESS", "LWS_GROUP_SIZE", "LWS_WORKER_INDEX")
# Labels the StatefulSet controller puts on every pod it creates (LWS pods too: LWS runs its groups
# as StatefulSets). pod-index exists from Kubernetes 1.28 (PodIndexLabel, on by default since 1.28).
STS_POD_NAME_LABEL = "statefulset.kubernetes.io/pod-name"
STS_POD_INDEX_LABEL = "apps.kubernetes.io/pod-index"
REVISION_HASH_LABEL = "controller-revision-hash"
POD_TEMPLATE_HASH_LABEL = "pod-template-hash"  # added by the Deployment controller
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


# `$NAME` / `${NAME}`: a template placeholder (envsubst) until proven otherwise.
_TEMPLATE_PLACEHOLDER = re.compile(r"(?<!\$)\$\{?[A-Za-z_]")


def known_at_render(value) -> bool:
    """False for values only known when the pod runs: a `<placeholder>` (pod IP, Secret, an opaque
    part of a shell script, ...) or a `$(VAR)` kubelet leaves literal, and for values holding an
    envsubst-style `$NAME` (the file may be a template); None (nothing to know) is not known either."""
    if value is None:
        return False
    text = str(value)
    return "<" not in text and "$(" not in text and not _TEMPLATE_PLACEHOLDER.search(text)


def version_guess_note(c: "ContainerRun") -> str:
    """For findings that depend on the program's version: which catalog was assumed and how to pin
    the real one, when the catalog is a guess (see catalog.select_catalog); '' otherwise."""
    if not c.catalog_guessed or c.parsed is None:
        return ""
    program = c.parsed.catalog.program
    option = "--sglang-version" if program == "sglang" else "--router-version"
    key = "sglang-version" if program == "sglang" else "router-version"
    return (f" (assumed {program} {c.parsed.catalog.version}: {c.catalog_note}; if the image runs another "
            f"release, pin it with {option} or `{key}:` in .pdcheck.yaml)")


@dataclass(frozen=True)
class Flag:
    """One option of a container's program as it will run, asked by option string ('--tp-size').

    `state` says where `value` comes from:
    - EXPLICIT: written in the argv (last occurrence wins, append options collect), value parsed;
    - DEFAULT: not written, value is the default of the catalog version the container runs;
    - RUNTIME: written, but the value is only known when the pod runs (`$(VAR)`, a fieldRef or
      Secret placeholder), or not written where an opaque word of a script may set it
      (ContainerRun.opaque_words): `value` is None;
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
    config_key: tuple[str, str] | None = None  # (ConfigMap name, key) it is read from (provenance.py)

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
    launcher: str | None = None  # DYNAMO_WORKER when NVIDIA Dynamo's worker runs SGLang (program 'sglang')
    flags: list[str] = field(default_factory=list)  # argv after the launcher (python -m ...)
    flags_offset: int | None = 0  # argv index of flags[0]; None when the flags sit inside `sh -c "..."`
    script_index: int | None = None  # argv index of the script of `sh -c SCRIPT` (or of a mounted script's path)
    mounted_script: str | None = None  # the text of `bash /scripts/x.sh` / `/scripts/x.sh` from a ConfigMap volume
    shell_problem: str | None = None  # why that script, which names SGLang, is not understood
    parsed: object = None  # argv.ParsedArgv for known programs
    catalog_note: str | None = None  # why a catalog was chosen (e.g. the image pins no version)
    catalog_guessed: bool = False  # the catalog is not the release the image tag or an override names
    rank: int = 0  # the pod's LWS worker index or StatefulSet position (0 for leaders and other pods)

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
            if self.opaque_words:
                return Flag(option, Flag.RUNTIME)  # an opaque word may set it
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
    def opaque_words(self) -> bool:
        """The argv holds a word only the running pod knows that no option takes as its value
        (`$EXTRA_ARGS` in a script): it may be any flags, so defaults are not known."""
        return self.parsed is not None and any(
            p.kind == "unexpected-positional" and not known_at_render(p.flag) for p in self.parsed.problems)

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
            return self.argv_path(self.script_index if self.script_index is not None else min(2, len(self.argv) - 1))
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
    # The headless Service the pod's DNS name `<hostname>.<subdomain>` goes through (StatefulSet
    # serviceName, an RBG role's Service), None when it has none.
    subdomain: str | None = None

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

    @property
    def launch_unknown(self) -> bool:
        """A container runs a script naming SGLang whose launch command is not understood."""
        return any(c.shell_problem for c in self.containers)


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
        """Leader/worker groups: an LWS, or groups another controller runs alike (an RBG role)."""
        return self.obj.kind == LWS_KIND

    @property
    def runs_on_lws(self) -> bool:
        """The LWS controller itself runs the groups (its names, Services, webhook limits apply)."""
        return self.is_lws and not _own_pods(self.obj)

    @property
    def group_env(self) -> dict[str, str]:
        """The env vars the controller running the groups injects for the leader's address, the group
        size and each pod's rank: LWS_* for a LeaderWorkerSet, the wrapper's (RBG_LWP_*) otherwise."""
        if _own_pods(self.obj) and getattr(self.obj.pods_by, "group_env", None):
            return self.obj.pods_by.group_env
        return dict(zip(("leader_address", "group_size", "worker_index"), LWS_INJECTED))

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
    # The render's objects with wrapper objects replaced by what their controllers create (the
    # Services and RBAC of an OME InferenceService, ...); None: the render's own.
    objects: list[K8sObject] | None = None

    def objects_of(self, kind: str) -> list[K8sObject]:
        return [o for o in (self.render.objects if self.objects is None else self.objects) if o.kind == kind]

    def engines_by_role(self, role: str) -> list[Workload]:
        return [w for w in self.workloads if w.role == role]

    @property
    def routers(self) -> list[tuple[Workload, ContainerRun]]:
        return [(w, w.leader.router) for w in self.workloads if w.leader and w.leader.router]

    @cached_property
    def kustomize_trace(self):
        """provenance.Trace of the overlay rendered (where each ConfigMap key and replacement got
        its value), walked on first use; None for plain YAML input."""
        from .provenance import trace_render

        return trace_render(self.render)


def _own_pods(obj: K8sObject) -> bool:
    """Another controller than the kind's names and labels the pods (objects.DerivedObject.pods_by)."""
    pods_by = getattr(obj, "pods_by", None)
    return pods_by is not None and pods_by.own_pods


def _controller_env(obj: K8sObject, group: int, rank: int) -> dict[str, tuple[str, str]]:
    """Env a wrapper kind's controller injects besides the kind's own: name -> (value, source)."""
    pods_by = getattr(obj, "pods_by", None)
    if pods_by is None:
        return {}
    return {name: (value, pods_by.env_source) for name, value in pods_by.env(group, rank).items()}


def build_model(render: Render, versions: dict[str, str | None] | None = None) -> Model:
    """Model every workload of a render. `versions` overrides catalogs: {'sglang': '0.5.6.post2', ...}."""
    config_maps = {(o.namespace, o.name): o for o in render.objects if o.kind == "ConfigMap" and o.name}
    overrides = versions or {}

    @lru_cache(maxsize=None)
    def catalog_for(program: str, image: str):
        """(catalog, why it was chosen, guessed) for a program in an image, once per pair."""
        from .catalog import select_catalog

        return select_catalog(program, image or None, overrides.get(program))

    workloads, unmodelled = [], []
    objects = list(adapters.expand(render.objects))  # wrapper kinds become the objects their controllers create
    for obj in objects:
        if obj.kind == LWS_KIND:
            workloads.append(_model_lws(obj, config_maps, catalog_for))
        elif obj.kind == "StatefulSet":
            workloads.append(_model_statefulset(obj, config_maps, catalog_for))
        elif obj.kind in POD_TEMPLATE_PATHS or obj.kind == "Pod":
            workloads.append(_model_plain(obj, config_maps, catalog_for))
        elif launches_sglang(obj):
            unmodelled.append(obj)
    return Model(render, workloads, config_maps, unmodelled, objects)


# ContainerRun.launcher of `python3 -m dynamo.sglang` (NVIDIA Dynamo's SGLang worker).
DYNAMO_WORKER = "dynamo.sglang"

# How SGLang is started: the server module, the `sglang serve` CLI, the router package, Dynamo's worker.
SGLANG_LAUNCH = re.compile(r"(?<![\w.])(?:sglang\.launch_server|sglang_router|sglang\s+serve|dynamo\.sglang)\b")


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
    subgroup_size = as_int(dig(lwt, "subGroupPolicy", "subGroupSize")) if isinstance(lwt, dict) else None
    subgroup_size = subgroup_size if subgroup_size and subgroup_size > 0 else None
    namespace = obj.namespace or "default"
    for rank in modelled_ranks(size):
        tpl_path = leader_path if (rank == 0 and leader_path) else worker_path
        template = dig(obj.doc, *tpl_path, default={})
        template = template if isinstance(template, dict) else {}
        group = 0
        labels = _mapping(dig(template, "metadata", "labels"))
        annotations = _mapping(dig(template, "metadata", "annotations"))
        if _own_pods(obj):  # another controller runs the groups (docs/adapters.md)
            pods_by = obj.pods_by
            labels.update(pods_by.labels(group, rank))
            pod = PodRun(wl, group, rank, pods_by.pod_name(group, rank), template, tpl_path, labels, annotations,
                         subdomain=pods_by.subdomain(group, rank))
            _fill_containers(pod, obj, config_maps, catalog_for, _controller_env(obj, group, rank))
            wl.pods.append(pod)
            continue
        pod_name = lws_pod_name(obj.name, group, rank)
        labels.update({
            LWS_NAME_LABEL: obj.name,
            LWS_GROUP_LABEL: str(group),
            LWS_WORKER_LABEL: str(rank),
            LWS_PREFIX + "group-key": "<group-key>",
            LWS_PREFIX + "template-revision-hash": "<revision>",
            # the leader StatefulSet <lws> (ordinals = groups), the worker StatefulSet <lws>-<group>
            # (ordinals from 1): pkg/controllers/pod_controller.go constructWorkerStatefulSetApplyConfiguration
            STS_POD_NAME_LABEL: lws_pod_name(obj.name, group, rank),
            STS_POD_INDEX_LABEL: str(group if rank == 0 else rank),
            REVISION_HASH_LABEL: "<controller-revision-hash>",
        })
        if subgroup_size:
            labels[LWS_PREFIX + "subgroup-index"] = _subgroup_index(size, subgroup_size, rank)
            labels[LWS_PREFIX + "subgroup-key"] = "<subgroup-key>"
        annotations.update({LWS_PREFIX + "size": str(size), LWS_PREFIX + "replicas": str(replicas)})
        if rank == 0:
            annotations[LWS_PREFIX + "leader-name"] = pod_name
        subdomain = obj.name if subdomain_policy != "UniquePerReplica" else f"{obj.name}-{group}"
        injected = {
            **_controller_env(obj, group, rank),
            "LWS_LEADER_ADDRESS": f"{lws_pod_name(obj.name, group, 0)}.{subdomain}.{namespace}",
            "LWS_GROUP_SIZE": str(size),
            "LWS_WORKER_INDEX": str(rank),
        }
        pod = PodRun(wl, group, rank, pod_name, template, tpl_path, labels, annotations, subdomain=subdomain)
        _fill_containers(pod, obj, config_maps, catalog_for, injected)
        wl.pods.append(pod)
    return wl


def _subgroup_index(size: int, subgroup_size: int, rank: int) -> str:
    """The subgroup-index label the LWS pod webhook sets (pkg/webhooks/pod_webhook.go
    getSubGroupIndex): the leader is in subgroup 0, as an extra pod when (size - 1) divides evenly."""
    if rank == 0:
        return "0"
    if (size - 1) % subgroup_size == 0:
        return str((rank - 1) // subgroup_size)
    return str(rank // subgroup_size)


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
    replicas = as_int(dig(obj.doc, "spec", "replicas"), 1) if obj.kind in ("Deployment", "ReplicaSet") else 1
    wl = Workload(obj, 1, 1 if replicas is None else replicas, worker_template_path=tpl_path)
    labels = _mapping(dig(template, "metadata", "labels"))
    labels.update(obj.pods_by.labels(0, 0) if _own_pods(obj) else _controller_labels(obj))
    annotations = _mapping(dig(template, "metadata", "annotations"))
    pod = PodRun(wl, 0, 0, name, template, tpl_path, labels, annotations)
    _fill_containers(pod, obj, config_maps, catalog_for, _controller_env(obj, 0, 0))
    wl.pods.append(pod)
    return wl


def _controller_labels(obj: K8sObject) -> dict:
    """Labels the controller of a Deployment / DaemonSet / Job adds to its pods (`<...>`: a value
    only known in the cluster, such as a hash of the template)."""
    if obj.kind == "Deployment":
        return {POD_TEMPLATE_HASH_LABEL: "<pod-template-hash>"}
    if obj.kind == "DaemonSet":
        return {REVISION_HASH_LABEL: "<controller-revision-hash>", "pod-template-generation": "<generation>"}
    if obj.kind == "Job":
        return {"job-name": obj.name, "batch.kubernetes.io/job-name": obj.name,
                "controller-uid": "<uid>", "batch.kubernetes.io/controller-uid": "<uid>"}
    if obj.kind == "CronJob":
        return {"job-name": "<job-name>", "batch.kubernetes.io/job-name": "<job-name>",
                "controller-uid": "<uid>", "batch.kubernetes.io/controller-uid": "<uid>"}
    return {}


def _model_statefulset(obj: K8sObject, config_maps, catalog_for) -> Workload:
    """A StatefulSet's pods, one per ordinal (`<name>-<ordinal>`, ordinals from spec.ordinals.start):
    the StatefulSet controller labels each with its name and index, and a pod's `rank` is its
    position among them (0 for the first), which is how multi-node engines number their nodes."""
    tpl_path = POD_TEMPLATE_PATHS["StatefulSet"]
    template = dig(obj.doc, *tpl_path, default={})
    template = template if isinstance(template, dict) else {}
    replicas = as_int(dig(obj.doc, "spec", "replicas"), 1)
    replicas = 1 if replicas is None else replicas
    start = as_int(dig(obj.doc, "spec", "ordinals", "start"), 0) or 0
    wl = Workload(obj, 1, replicas, worker_template_path=tpl_path)
    service = dig(obj.doc, "spec", "serviceName")
    own_pods = _own_pods(obj)  # another controller runs the pods (docs/adapters.md)
    for rank in modelled_ranks(max(replicas, 1)):
        name = f"{obj.name}-{start + rank}"
        labels = _mapping(dig(template, "metadata", "labels"))
        if not own_pods:
            labels.update({STS_POD_NAME_LABEL: name, STS_POD_INDEX_LABEL: str(start + rank),
                           REVISION_HASH_LABEL: "<controller-revision-hash>"})
        else:
            name = obj.pods_by.pod_name(0, rank)
            labels.update(obj.pods_by.labels(0, rank))
            service = obj.pods_by.subdomain(0, rank)
        annotations = _mapping(dig(template, "metadata", "annotations"))
        pod = PodRun(wl, 0, rank, name, template, tpl_path, labels, annotations,
                     subdomain=service if isinstance(service, str) and service else None)
        _fill_containers(pod, obj, config_maps, catalog_for, _controller_env(obj, 0, rank))
        wl.pods.append(pod)
    return wl


def _fill_containers(pod: PodRun, obj: K8sObject, config_maps, catalog_for, injected: dict) -> None:
    """`injected`: env the controllers put first, winning over the user's: name -> value (from LWS)
    or (value, source)."""
    spec = pod.spec
    for key, target in (("containers", pod.containers), ("initContainers", pod.init_containers)):
        items = spec.get(key)
        if not isinstance(items, list):
            continue
        # LWS and RBG add their env to init containers too, AIBrix to containers only (`containers_only`)
        env = {} if key == "initContainers" and getattr(getattr(obj, "pods_by", None), "containers_only", False) else injected
        for i, c in enumerate(items):
            if isinstance(c, dict):
                target.append(_model_container(pod, obj, c, i, pod.spec_path + (key, i), config_maps, catalog_for, env))


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
                                                   f"envFrom:ConfigMap/{cm_ref['name']}", path + ("envFrom", j),
                                                   config_key=(cm_ref["name"], str(key)))
            else:
                opaque.append(f"ConfigMap/{cm_ref['name']}")
        elif isinstance(source.get("secretRef"), dict):
            opaque.append(f"Secret/{source['secretRef'].get('name')}")

    for name, value in injected.items():
        value, source = value if isinstance(value, tuple) else (value, "lws")
        env[name] = EnvVar(name, value, source)

    entries = c.get("env")
    for j, entry in enumerate(entries if isinstance(entries, list) else []):
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            continue
        name = entry["name"]
        if name in injected:
            continue  # LWS (and RBG) put their own value first and drop the user's
        epath = path + ("env", j)
        if "value" in entry and not isinstance(entry.get("valueFrom"), dict):
            raw = "" if entry["value"] is None else str(entry["value"])
            missing: list[str] = []
            value = expand(raw, lambda n: env[n].value if n in env else None, missing)
            env_unresolved.extend((m, name) for m in missing if m not in env and is_variable_reference(m))
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
            config_key = (ref["name"], ref["key"]) if isinstance(ref.get("name"), str) and isinstance(ref.get("key"), str) else None
            env[name] = EnvVar(name, None if value is None else str(value), f"configMapKeyRef:{ref.get('name')}", epath,
                               config_key=config_key)
        elif isinstance(value_from.get("secretKeyRef"), dict):
            env[name] = EnvVar(name, None, f"secret:{value_from['secretKeyRef'].get('name')}", epath)
        else:
            env[name] = EnvVar(name, None, "valueFrom", epath)

    command = [str(x) for x in c.get("command", []) if x is not None] if isinstance(c.get("command"), list) else []
    args = [str(x) for x in c.get("args", []) if x is not None] if isinstance(c.get("args"), list) else []
    raw_argv = command + args
    argv, unresolved = [], []
    invocation = shell_invocation(raw_argv)
    script_index = invocation.script_index if invocation else None
    for i, item in enumerate(raw_argv):
        missing: list[str] = []
        # In a shell script a value only the pod knows stays `$(NAME)`, which the shell runs as a
        # command substitution and pdcheck treats as opaque (a `<placeholder>` would be a redirection).
        display = _script_display if i == script_index else EnvVar.display.fget
        argv.append(expand(item, lambda n: display(env[n]) if n in env else None, missing))
        unresolved.extend((m, i) for m in missing if is_variable_reference(m, in_script=i == script_index))

    mounted = None if invocation else _mounted_script(pod, c, argv, config_maps, namespace)
    if mounted:
        script_index, mounted = mounted
    image = c.get("image") if isinstance(c.get("image"), str) else ""
    run = ContainerRun(
        name=str(c.get("name", "")), index=index, spec=c, path=path, image=image, env=env,
        raw_argv=raw_argv, argv=argv, command_len=len(command), unresolved=unresolved,
        env_unresolved=env_unresolved, opaque_env=opaque, rank=pod.rank, script_index=script_index,
        mounted_script=mounted,
    )
    _parse_program(run, catalog_for, _hostname(pod))
    return run


def _mounted_script(pod: PodRun, c: dict, argv: list[str], config_maps, namespace) -> tuple[int, str] | None:
    """(argv index of the path, the script) for `bash /scripts/x.sh ...` or `/scripts/x.sh ...` (with a
    shell `#!` line) when the file comes from a ConfigMap volume of the render."""
    from .shell import is_shell, shebang_is_shell

    if len(argv) >= 2 and is_shell(argv[0]) and not argv[1].startswith(("-", "+")):
        index = 1
    elif argv and argv[0].startswith("/"):
        index = 0
    else:
        return None
    text = _config_map_file(pod, c, argv[index], config_maps, namespace)
    if text is None or (index == 0 and not shebang_is_shell(text)):
        return None
    return index, text


def _config_map_file(pod: PodRun, c: dict, file: str, config_maps, namespace) -> str | None:
    """The content of `file` inside the container when a ConfigMap volume of the render provides it."""
    volumes = {v.get("name"): v for v in pod.spec.get("volumes") or [] if isinstance(v, dict)}
    for mount in c.get("volumeMounts") or []:
        if not isinstance(mount, dict) or not isinstance(mount.get("mountPath"), str):
            continue
        mount_path = mount["mountPath"].rstrip("/")
        sub_path = mount.get("subPath") if isinstance(mount.get("subPath"), str) else ""
        if file == mount_path and sub_path:
            relative = sub_path
        elif file.startswith(mount_path + "/"):
            relative = "/".join(p for p in (sub_path, file[len(mount_path) + 1:]) if p)
        else:
            continue
        source = dig(volumes.get(mount.get("name")), "configMap")
        cm = config_maps.get((namespace, source.get("name"))) if isinstance(source, dict) else None
        if cm is None:
            return None
        items = source.get("items") if isinstance(source.get("items"), list) else None
        if items is not None:
            key = next((i.get("key") for i in items if isinstance(i, dict) and i.get("path") == relative), None)
        else:
            key = relative
        value = dig(cm.doc, "data", key) if isinstance(key, str) else None
        return value if isinstance(value, str) else None
    return None


def _script_display(var: EnvVar) -> str:
    return var.value if var.value is not None and known_at_render(var.value) else f"$({var.name})"


def _hostname(pod: PodRun) -> str:
    """What $HOSTNAME is inside the pod's containers: spec.hostname, else the pod's name."""
    hostname = pod.spec.get("hostname")
    return hostname if isinstance(hostname, str) and hostname else pod.name


def _parse_program(run: ContainerRun, catalog_for, hostname: str) -> None:
    from .argv import DYNAMO_SGLANG, parse_argv, split_launcher
    from .dynamo_flags import with_dynamo_options

    if run.script_index is None:
        program, flags = split_launcher(run.argv)
        run.flags_offset = len(run.argv) - len(flags)
    else:
        launch = _launch_in_script(run, hostname)
        run.shell_problem = launch.problem
        if launch.words is None:
            return
        program, flags = split_launcher(launch.words)
        run.flags_offset = None
    if program is None:
        return
    dynamo = program == DYNAMO_SGLANG
    run.program = "sglang" if dynamo else program  # Dynamo's worker runs SGLang with SGLang's flags
    run.launcher = DYNAMO_WORKER if dynamo else None
    run.flags = flags
    # A Dynamo image's tag (nvcr.io/nvidia/ai-dynamo/sglang-runtime:0.6.1) names a Dynamo release, not SGLang's.
    catalog, note, guessed = catalog_for(run.program, "" if dynamo else run.image)
    if dynamo and note is not None:
        note = (f"the tag of Dynamo's image {run.image!r} names a Dynamo release, not SGLang's; "
                f"using sglang catalog {catalog.version}")
    run.catalog_note = note
    run.catalog_guessed = guessed
    run.parsed = parse_argv(flags, with_dynamo_options(catalog) if dynamo else catalog)


def _launch_in_script(run: ContainerRun, hostname: str):
    """The command `sh -c SCRIPT $0 $1 ...` starts (shell.find_launch), with the container's env,
    after kubelet's $(VAR) expansion."""
    from .argv import split_launcher
    from .shell import OPAQUE, LaunchScript, find_launch, mentions_sglang

    def lookup(name: str):
        var = run.env.get(name)
        if var is None:
            return hostname if name == "HOSTNAME" else None
        return var.value if var.value is not None and known_at_render(var.value) else OPAQUE

    if run.mounted_script is not None:  # `bash /x.sh a b`: $0 is the path (kubelet expands nothing in the file)
        script, positional = run.mounted_script, run.argv[run.script_index:]
    else:
        script, positional = run.argv[run.script_index], run.argv[run.script_index + 1:]
    known_values = [v.value for v in run.env.values() if v.value]
    if not mentions_sglang(" ".join([script, *positional, *known_values])):
        return LaunchScript(None)  # no SGLang launch can come out of it: spare the parser
    return find_launch(script, lookup, positional, lambda words: split_launcher(words)[0])
