from ...catalog import _is_router_image, version_from_image
from ...findings import Severity
from ..base import Problem, Rule
from ..security._common import DIGEST, image_pin_problem
from ._helpers import parsed_containers, where


def _image_unpinned_enabled(ctx) -> bool:
    from .. import get_rule

    rule = get_rule("image-unpinned")
    return rule is not None and ctx.config.rule_severity.get(rule.id, rule.severity) is not None


def check(model, ctx):
    defer = _image_unpinned_enabled(ctx)
    for wl, pod, c in parsed_containers(model):
        if not c.catalog_note or version_from_image(c.image or "") is not None:
            continue
        if DIGEST.search(c.image or ""):
            continue  # content pinned; flag findings say the catalog was guessed (or pass --sglang-version)
        moving = image_pin_problem(c.image)
        if defer and moving:
            continue  # a moving tag: image-unpinned reports the image once
        risk = ("the tag can move to another release with different flags (the reference's `deepep` tag did)" if moving
                else "pdcheck cannot tell which release it is")
        yield Problem(wl.obj, c.path + ("image",),
                      f"{where(wl, pod, c)}: image {c.image!r} names no {c.parsed.catalog.program} version ({c.catalog_note}); {risk}, so flag checks are a guess",
                      ("use a versioned tag of the router image" if _is_router_image(c.image)
                       else "use a release tag (lmsysorg/sglang:v<version>-<cuda>, e.g. v0.5.6.post2-cu129)")
                      + f", or run pdcheck with --{c.parsed.catalog.program.replace('sglang-router', 'router')}-version")


RULE = Rule(
    id="image-version-unpinned",
    category="flags",
    severity=Severity.WARNING,
    summary="Engine or router image tag pins no SGLang version",
    doc="""Tags such as `lmsysorg/sglang:deepep`, `:latest` or `:dev` are moved to new builds: the
reference deployment's `deepep` tag was rebuilt across releases whose flags are incompatible
(`--enable-deepep-moe` vs `--moe-a2a-backend deepep`, `--cuda-graph-max-bs` vs the per-phase
flags of 0.5.23), so a node pulling the image later runs a different SGLang than the one the
manifest was tested with, and different nodes of one LWS group can even disagree. pdcheck then has
to guess which flag catalog to check against (the newest one). `:latest` itself moved to CUDA 13,
breaking DeepEP on GB200 (sglang#26413); `--enable-deepep-moe` scripts broke when the flag went
(slime#1344). Pin a release tag (optionally with a
digest) or tell pdcheck the version. A moving tag (`deepep`, `latest`, no tag) is reported once by
`image-unpinned` while that rule is enabled (this rule then stays silent on it); this rule covers
fixed tags without a readable version (a build date such as `:20251106`). Digest-only references
pin the content and are left alone; every flag finding on a container whose version had to be
guessed says so, and `--sglang-version` / `--router-version` remove the guess.""",
    links=(
        "https://hub.docker.com/r/lmsysorg/sglang/tags",
        "https://github.com/sgl-project/sglang/pull/26413",
        "https://github.com/THUDM/slime/pull/1344",
    ),
    check=check,
)
