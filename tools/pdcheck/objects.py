"""Rendered Kubernetes objects and where they came from."""

from __future__ import annotations

from dataclasses import dataclass, field

from .yamlio import DuplicateKey

IGNORE_ANNOTATION = "pdcheck.io/ignore"
ORIGIN_ANNOTATION = "config.kubernetes.io/origin"


@dataclass
class Origin:
    """Where an object was written: a file (and document index when known)."""

    file: str | None = None  # path as shown to the user (relative to the working directory when possible)
    doc_index: int | None = None  # for plain YAML input: the document's index in the file
    doc_line: int | None = None  # 1-based line where that document starts
    generated_by: str | None = None  # kustomization that generated it (configMapGenerator, ...)


@dataclass
class K8sObject:
    doc: dict
    index: int  # position in the render
    origin: Origin = field(default_factory=Origin)
    duplicates: list[DuplicateKey] = field(default_factory=list)

    @property
    def kind(self) -> str:
        kind = self.doc.get("kind")
        return kind if isinstance(kind, str) else ""

    @property
    def api_version(self) -> str:
        value = self.doc.get("apiVersion")
        return value if isinstance(value, str) else ""

    @property
    def metadata(self) -> dict:
        meta = self.doc.get("metadata")
        return meta if isinstance(meta, dict) else {}

    @property
    def name(self) -> str:
        name = self.metadata.get("name")
        return name if isinstance(name, str) else ""

    @property
    def namespace(self) -> str | None:
        ns = self.metadata.get("namespace")
        return ns if isinstance(ns, str) else None

    @property
    def ref(self) -> str:
        """'Kind/name' or 'Kind/ns/name', how findings name an object."""
        kind = self.kind or "<no kind>"
        name = self.name or f"<document {self.index + 1}>"
        return f"{kind}/{self.namespace}/{name}" if self.namespace else f"{kind}/{name}"

    @property
    def labels(self) -> dict:
        labels = self.metadata.get("labels")
        return labels if isinstance(labels, dict) else {}

    @property
    def annotations(self) -> dict:
        ann = self.metadata.get("annotations")
        return ann if isinstance(ann, dict) else {}

    @property
    def ignored_rules(self) -> set[str]:
        raw = self.annotations.get(IGNORE_ANNOTATION)
        if not isinstance(raw, str):
            return set()
        return {part.strip() for part in raw.split(",") if part.strip()}

    def ignores(self, rule_id: str) -> bool:
        """Whether the pdcheck.io/ignore annotation suppresses this rule (by id or with `all`)."""
        ignored = self.ignored_rules
        return rule_id in ignored or "all" in ignored


@dataclass
class Render:
    """One unit of input: a rendered overlay, a YAML file, or stdin."""

    name: str  # how it is shown: the overlay directory or file path
    source: str  # 'kustomize' | 'file' | 'stdin'
    objects: list[K8sObject]
    non_objects: list[tuple[int, int, str]] = field(default_factory=list)  # (doc index, line, what it is)
    # False for an overlay built without origin annotations (faster): its objects' origins are
    # unknown until the renderer is asked for them (render.Renderer.origins).
    has_origins: bool = True


@dataclass
class DerivedObject(K8sObject):
    """An object a controller creates from a wrapper object, e.g. the LeaderWorkerSet of one
    DisaggregatedSet role (built by tools/pdcheck/adapters/). It is modelled like any object of its
    kind, but it exists in no file: problems found in it are reported at the wrapper (`source`)."""

    parent: K8sObject | None = None
    # (prefix of a path in this doc, the same place in the parent), most specific first
    path_map: tuple[tuple[tuple, tuple], ...] = ()
    label: str = ""  # how the parent names it, e.g. "role prefill"
    # What the wrapper's controller adds to each pod (e.g. RBG): an object with `env(group, rank)`
    # -> {name: value} injected first, winning like LWS_*, `env_source` (how the env is shown), and
    # `own_pods`: when True another controller than the kind's runs the pods (an RBG RoleInstanceSet
    # modelled as a LeaderWorkerSet or StatefulSet), and `pod_name(group, rank)`, `labels(group, rank)`,
    # `subdomain(group, rank)` replace the kind's own names, labels and DNS. None: nothing added.
    # `containers_only`: the env goes to containers, not init containers (AIBrix).
    pods_by: object = None
    shown_kind: str = ""  # the kind the controller really creates, when modelled as another (RoleInstanceSet)

    def source(self, path: tuple) -> tuple[K8sObject, tuple]:
        """The parent object and the path in it that holds what `path` names here."""
        for here, there in self.path_map:
            if tuple(path[: len(here)]) == here:
                return self.parent, there + tuple(path[len(here):])
        return self.parent, ()

    @property
    def ref(self) -> str:
        return f"{self.parent.ref} {self.label} ({self.shown_kind or self.kind} {self.name})"
