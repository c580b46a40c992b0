from ...findings import Severity
from .._util import distinct_pods
from ..base import Problem, Rule
from ._common import image_pin_problem


def check(model, ctx):
    for wl in model.workloads:
        for pod in distinct_pods(wl):
            for c in pod.init_containers + pod.containers:
                problem = image_pin_problem(c.image)
                if problem:
                    yield Problem(wl.obj, c.path + ("image",),
                                  f"container {c.name} of {wl.kind} {wl.name}: image {c.image or '(none)'} does not pin "
                                  f"what runs: {problem}",
                                  "use a release tag (lmsysorg/sglang:v0.5.6.post2-cu129-amd64) or a digest "
                                  "(@sha256:...), set once in kustomize `images:`")


RULE = Rule(
    id="image-unpinned",
    category="security",
    severity=Severity.WARNING,
    summary="Image without a release tag or digest (missing tag, latest, or a tag like deepep)",
    doc="""A moving tag (no tag, `latest`, `nightly`, `dev`, or a name such as the reference's
`lmsysorg/sglang:deepep`) is resolved again on every pull: the nodes of one LWS group can run
different SGLang builds (a rank restarted a week later pulls the new one), a rollback does not roll
back, and whoever can push that tag runs code on the GPU nodes, privileged. A version tag pins by
the publisher's convention; only a digest (`@sha256:...`) pins by content, and pins even with a
moving tag next to it. Scope: this rule is about reproducibility and supply chain, for every
container. Whether the version in an SGLang tag has a flag catalog is the `flags` rules' business;
they should stay silent on images this rule reports (`image_pin_problem` in
`rules/security/_common.py`).""",
    links=(
        "https://kubernetes.io/docs/concepts/containers/images/#image-names",
        "https://kubernetes.io/docs/concepts/configuration/overview/#container-images",
    ),
    check=check,
)
