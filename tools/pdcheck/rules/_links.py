"""Pinned sources the router and pairing rules cite."""

SG = "https://github.com/sgl-project/sglang/blob/v0.5.6.post2/python/sglang/srt/"
SG23 = "https://github.com/sgl-project/sglang/blob/v0.5.23/python/sglang/srt/"
SERVER_ARGS = SG + "server_args.py"
SCHEDULER = SG + "managers/scheduler.py"
CONN = SG + "disaggregation/common/conn.py"
DP_CONTROLLER = SG + "managers/data_parallel_controller.py"
CONN_23 = SG23 + "disaggregation/common/conn.py"
ROUTER_ARGS = ("https://github.com/sgl-project/sglang/blob/e46dcd87adca58ec70831ad7cb01a3892b2c9e50/"
               "sgl-router/py_src/sglang_router/router_args.py")
SERVICE_DISCOVERY = ("https://github.com/sgl-project/sglang/blob/008d83eb618762df4209eaa4390ea016a705f56e/"
                     "sgl-router/src/service_discovery.rs")
LWS_HEADLESS = ("https://github.com/kubernetes-sigs/lws/blob/edab0f22c3b11522713642eae62139faacda2fd9/"
                "pkg/utils/controller/controller_utils.go")
K8S_SERVICE = "https://kubernetes.io/docs/concepts/services-networking/service/"
ISSUE = "https://github.com/sgl-project/sglang/issues/"
ROUTER_E2E = "https://pypi.org/project/sglang-router/0.3.2/"
# The model gateway (sglang-router 0.2.x/0.3.x): /health, /liveness, /readiness, and the worker
# registration workflow whose detect step retries for ~0.9 x --worker-startup-timeout-secs.
GATEWAY_SERVER = ("https://github.com/sgl-project/sglang/blob/049026958a37dfa6ac39a5ea150853aca1cbc07b/"
                  "sgl-model-gateway/src/server.rs")
GATEWAY_REGISTRATION = ("https://github.com/sgl-project/sglang/blob/8be53331a79a9e5e9bc28c4401c3bda439a2c33d/"
                        "sgl-model-gateway/src/core/workflow/steps/worker_registration.rs")
# kubelet restart back-off: doBackOff (FinishedAt as event time) and flowcontrol.Backoff (reset after 2 x cap).
KUBELET_BACKOFF = ("https://github.com/kubernetes/kubernetes/blob/v1.30.0/"
                   "pkg/kubelet/kuberuntime/kuberuntime_manager.go")
