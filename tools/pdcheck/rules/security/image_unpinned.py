from ...catalog import _is_router_image, version_from_image
from ...findings import Severity
from .._util import distinct_pods
from ..base import Problem, Rule
from ._common import DIGEST, image_pin_problem


def _unversioned(c) -> bool:
    """An SGLang/router image with a fixed tag but no readable version (a build date such as
    :20251106): pdcheck had to guess its flag catalog. A digest pins the content: left alone."""
    return (c.parsed is not None and bool(c.catalog_note) and version_from_image(c.image or "") is None
            and not DIGEST.search(c.image or ""))


def check(model, ctx):
    for wl in model.workloads:
        for pod in distinct_pods(wl):
            for c in pod.init_containers + pod.containers:
                problem = image_pin_problem(c.image)
                if problem:
                    example = " (lmsysorg/sglang:v0.5.6.post2-cu129-amd64)" if c.program == "sglang" else ""
                    yield Problem(wl.obj, c.path + ("image",),
                                  f"container {c.name} of {wl.kind} {wl.name}: image {c.image or '(none)'} does not pin "
                                  f"what runs: {problem}",
                                  f"use a release tag{example} or a digest (@sha256:...), set once in kustomize `images:`")
                elif _unversioned(c):
                    program = c.parsed.catalog.program
                    yield Problem(wl.obj, c.path + ("image",),
                                  f"container {c.name} of {wl.kind} {wl.name}: image {c.image} names no {program} "
                                  f"version ({c.catalog_note}); pdcheck cannot tell which release it is, so flag checks are a guess",
                                  ("use a versioned tag of the router image" if _is_router_image(c.image)
                                   else "use a release tag (lmsysorg/sglang:v<version>-<cuda>, e.g. v0.5.6.post2-cu129)")
                                  + f", or run pdcheck with --{program.replace('sglang-router', 'router')}-version")


RULE = Rule(
    id="image-unpinned",
    severity=Severity.WARNING,
    summary="Image without a release tag or digest (missing tag, latest, a tag like deepep, or no version)",
    doc="""A moving tag (no tag, `latest`, `nightly`, `dev`, or a name such as the reference's
`lmsysorg/sglang:deepep`) is resolved again on every pull: the nodes of one LWS group can run
different SGLang builds (a rank restarted a week later pulls the new one), a rollback does not roll
back, and whoever can push that tag runs code on the GPU nodes, privileged. The reference's `deepep`
tag was rebuilt across releases whose flags are incompatible (`--enable-deepep-moe` vs
`--moe-a2a-backend deepep`, `--cuda-graph-max-bs` vs the per-phase flags of 0.5.23); `:latest`
itself moved to CUDA 13, breaking DeepEP on GB200 (sglang#26413); `--enable-deepep-moe` scripts
broke when the flag went (slime#1344). A version tag pins by the publisher's convention; only a
digest (`@sha256:...`) pins by content, and pins even with a moving tag next to it.

For SGLang and router images the rule also reports fixed tags without a readable version (a build
date such as `:20251106`): pdcheck then has to guess which flag catalog to check against (the
newest one). Every flag finding on a container whose version had to be guessed says so, and
`--sglang-version` / `--router-version` remove the guess.""",
    links=(
        "https://kubernetes.io/docs/concepts/containers/images/#image-names",
        "https://hub.docker.com/r/lmsysorg/sglang/tags",
        "https://github.com/sgl-project/sglang/pull/26413",
        "https://github.com/THUDM/slime/pull/1344",
    ),
    check=check,
)
