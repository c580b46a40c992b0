"""`.pdcheck.yaml`: per-project settings, found upward from the first path checked.

    k8s-versions: ["1.26", "1.37"]   # schemas to validate against (default: README, "Which Kubernetes versions")
    sglang-version: 0.5.6.post2      # flag catalog to use instead of the image tag's
    router-version: 0.3.2
    crds: [crds/lws.yaml]            # extra CRD files, relative to this file
    service-node-port-range: 30000-32767   # the cluster's kube-apiserver --service-node-port-range
    gpu: H800                        # GPU of every engine, for the capacity plan (pdcheck plan)
    rules:
      env-drift: off                 # off | error | warning | info
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .errors import InputError
from .findings import Severity
from .yamlio import load_documents, read_text

CONFIG_NAMES = (".pdcheck.yaml", ".pdcheck.yml")
_KEYS = {"k8s-versions", "sglang-version", "router-version", "crds", "service-node-port-range", "gpu", "rules"}
# kube-apiserver's default --service-node-port-range.
DEFAULT_NODE_PORT_RANGE = (30000, 32767)


@dataclass
class Config:
    path: Path | None = None
    k8s_versions: list[str] | None = None
    sglang_version: str | None = None
    router_version: str | None = None
    crds: list[Path] = field(default_factory=list)
    node_port_range: tuple[int, int] = DEFAULT_NODE_PORT_RANGE
    gpu: str | None = None  # for the capacity plan; the pods' nvidia.com/gpu.product otherwise
    rule_severity: dict[str, Severity | None] = field(default_factory=dict)  # None = off

    def check_rule_ids(self, known_rules: set[str]) -> None:
        """Raise InputError for the first rule the file sets that pdcheck does not have."""
        for rule_id in self.rule_severity:
            if rule_id not in known_rules:
                raise InputError(str(self.path), f"unknown rule {rule_id!r} (see `pdcheck rules`)")


def find_config(start: Path) -> Path | None:
    here = start.resolve()
    if here.is_file() or not here.exists():
        here = here.parent
    for directory in (here, *here.parents):
        for name in CONFIG_NAMES:
            candidate = directory / name
            if candidate.is_file():
                return candidate
    return None


def locate_config(config_path: str | None, paths: list[str]) -> Path | None:
    """--config, else the file found upward from the first path checked (the working directory for stdin)."""
    if config_path:
        return Path(config_path)
    first = paths[0] if paths and paths[0] != "-" else "."
    return find_config(Path(first))


def load_config(path: Path | None, known_rules: set[str] | None = None) -> Config:
    """known_rules None: rule ids are not checked here (a run checks them where it loads the rules:
    checker.enabled_rules; a run answered from the results cache loads none)."""
    if path is None:
        return Config()
    name = str(path)
    docs = load_documents(read_text(path), name)
    data = docs[0].data if docs else None
    if data is None:
        return Config(path=path)
    if not isinstance(data, dict):
        raise InputError(name, "must be a YAML mapping")
    unknown = set(map(str, data)) - _KEYS
    if unknown:
        raise InputError(name, f"unknown setting {sorted(unknown)[0]!r} (known: {', '.join(sorted(_KEYS))})")
    cfg = Config(path=path)
    versions = data.get("k8s-versions")
    if versions is not None:
        if not isinstance(versions, list) or not versions:
            raise InputError(name, "k8s-versions must be a non-empty list like ['1.26', '1.37']")
        cfg.k8s_versions = [str(v) for v in versions]
    for key, attr, program in (("sglang-version", "sglang_version", "sglang"),
                               ("router-version", "router_version", "sglang-router")):
        if data.get(key) is not None:
            from .catalog import available_versions

            versions = available_versions(program)
            if str(data[key]) not in versions:
                raise InputError(name, f"{key}: no {program} flag catalog for {str(data[key])!r} (available: {', '.join(versions)})")
            setattr(cfg, attr, str(data[key]))
    if data.get("gpu") is not None:
        from .capacity.facts import gpu_by_name, known_gpus

        if gpu_by_name(str(data["gpu"])) is None:
            raise InputError(name, f"gpu {data['gpu']!r} is not a GPU pdcheck knows (known: {', '.join(known_gpus())})")
        cfg.gpu = str(data["gpu"])
    crds = data.get("crds") or []
    if not isinstance(crds, list):
        raise InputError(name, "crds must be a list of file paths")
    cfg.crds = [(path.parent / str(c)) for c in crds]
    if data.get("service-node-port-range") is not None:
        cfg.node_port_range = _port_range(name, data["service-node-port-range"])
    rules = data.get("rules") or {}
    if not isinstance(rules, dict):
        raise InputError(name, "rules must map rule ids to off, error, warning or info")
    for rule_id, setting in rules.items():
        # YAML 1.1 reads a bare `off` as False.
        text = "off" if setting is False else str(setting).lower()
        if text == "off":
            cfg.rule_severity[rule_id] = None
        elif text in ("error", "warning", "info"):
            cfg.rule_severity[rule_id] = Severity(text)
        else:
            raise InputError(name, f"rule {rule_id}: {setting!r} is not one of off, error, warning, info")
    if known_rules is not None:
        cfg.check_rule_ids(known_rules)
    return cfg


def _port_range(name: str, value) -> tuple[int, int]:
    """'30000-32767' (kube-apiserver's --service-node-port-range syntax) -> (30000, 32767)."""
    lo, sep, hi = str(value).partition("-")
    if sep and lo.strip().isdigit() and hi.strip().isdigit() and 0 < int(lo) <= int(hi) <= 65535:
        return int(lo), int(hi)
    raise InputError(name, f"service-node-port-range must look like 30000-32767, not {value!r}")
