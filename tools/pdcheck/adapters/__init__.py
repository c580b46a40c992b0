"""Wrapper kinds, in front of the model: each adapter turns one object of its kind into the objects
its controller creates (LeaderWorkerSets, ...), so the model and every rule see the same workloads
whichever kind they came from. How to add one: docs/adapters.md.

An adapter is a module with `KIND` (or `KINDS`, when it serves several kinds), `API_VERSIONS` (the
apiVersions it understands) and `expand(obj) -> list[DerivedObject]`; list it in `_ADAPTERS`. A kind
whose objects name others of the render (an OME InferenceService names its runtime) defines
`expand_in_render(obj, objects)` as well, which is called instead.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from ..objects import K8sObject
from . import disaggregatedset
from . import dynamographdeployment
from . import ome
from . import rolebasedgroup, rolebasedgroupset
from . import roleset
from . import stormservice

_ADAPTERS = (
    disaggregatedset,
    dynamographdeployment,
    ome,
    rolebasedgroup, rolebasedgroupset,
    roleset,
    stormservice,
)

# (apiVersion, kind) -> the adapter module
ADAPTERS = {(api_version, kind): module for module in _ADAPTERS for kind in getattr(module, "KINDS", (module.KIND,))
            for api_version in module.API_VERSIONS}


def has_adapter(obj: K8sObject) -> bool:
    return (obj.api_version, obj.kind) in ADAPTERS


def expand(objects: Iterable[K8sObject]) -> Iterator[K8sObject]:
    """Every object, with each wrapper object replaced by the objects its controller creates."""
    objects = list(objects)
    for obj in objects:
        module = ADAPTERS.get((obj.api_version, obj.kind))
        if module is None:
            yield obj
        elif hasattr(module, "expand_in_render"):
            yield from module.expand_in_render(obj, objects)
        else:
            yield from module.expand(obj)
