"""Router rules: static URLs, service discovery, timeouts."""

MODULES = (
    "router_pd_workers_missing",
    "router_url_unverifiable",
    "router_url_target",
    "router_url_port",
    "lws_service_name_collision",
    "router_bootstrap_port",
    "router_static_multi_replica_prefill",
    "router_static_multi_replica_decode",
    "router_sd_selector",
    "router_sd_port",
    "router_sd_bootstrap_annotation",
    "router_sd_rbac",
    "router_startup_timeout",
)
