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
