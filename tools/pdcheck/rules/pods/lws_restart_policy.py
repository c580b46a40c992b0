from ...findings import Severity
from ...model import dig
from ..base import Problem, Rule

KEEPS_GROUP = ("None", "Default")  # Default is deprecated and defaulted to None by the webhook


def check(model, ctx):
    for wl in model.workloads:
        if not wl.is_lws or wl.size < 2:
            continue
        policy = dig(wl.obj.doc, "spec", "leaderWorkerTemplate", "restartPolicy")
        if policy in KEEPS_GROUP:
            yield Problem(wl.obj, ("spec", "leaderWorkerTemplate", "restartPolicy"),
                          f"{wl.name} (size {wl.size}) has restartPolicy {policy}: when one rank restarts, LWS restarts only that pod while the others keep their NCCL communicators, so the restarted rank never rejoins and the group hangs half-dead",
                          "use restartPolicy: RecreateGroupOnPodRestart (or RecreateGroupAfterStart on LWS >= 0.9)")


RULE = Rule(
    id="lws-restart-policy",
    severity=Severity.ERROR,
    summary="Multi-pod LWS whose restartPolicy does not recreate the group",
    doc="""An SGLang engine spread over several pods is one `torch.distributed`/NCCL job: the ranks
rendezvous once at start (`--dist-init-addr`) and cannot re-admit a restarted peer. With
`restartPolicy: None` (or the deprecated `Default`, which the webhook turns into `None`), LWS
restarts only the failed pod; it starts a fresh rank that waits for a rendezvous that never
happens, while the surviving ranks hang in collectives or crash, and the group stays unusable. The
LWS pod controller deletes the leader (and so the group) only for `RecreateGroupOnPodRestart`
(default) and `RecreateGroupAfterStart`.""",
    links=(
        "https://github.com/kubernetes-sigs/lws/blob/v0.7.0/pkg/controllers/pod_controller.go",
        "https://github.com/kubernetes-sigs/lws/blob/v0.7.0/pkg/webhooks/leaderworkerset_webhook.go",
    ),
    check=check,
)
