"""Wrapper kinds, in front of the model: each adapter turns one object of its kind into the objects
its controller creates (LeaderWorkerSets, ...), so the model and every rule see the same workloads
whichever kind they came from. How to add one: docs/adapters.md.

An adapter is a module with `KIND`, `API_VERSIONS` (the apiVersions it understands) and
`expand(obj) -> list[DerivedObject]`; list it in `_ADAPTERS`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from ..objects import K8sObject
from . import disaggregatedset
from . import dynamographdeployment
from . import roleset
from . import stormservice

_ADAPTERS = (
    disaggregatedset,
    dynamographdeployment,
    roleset,
    stormservice,
)

# (apiVersion, kind) -> the adapter's expand function
EXPANDERS = {(api_version, module.KIND): module.expand for module in _ADAPTERS for api_version in module.API_VERSIONS}


def has_adapter(obj: K8sObject) -> bool:
    return (obj.api_version, obj.kind) in EXPANDERS


def expand(objects: Iterable[K8sObject]) -> Iterator[K8sObject]:
    """Every object, with each wrapper object replaced by the objects its controller creates."""
    for obj in objects:
        expander = EXPANDERS.get((obj.api_version, obj.kind))
        if expander is None:
            yield obj
        else:
            yield from expander(obj)
