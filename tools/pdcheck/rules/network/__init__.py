"""Bootstrap and network rules: bind addresses, Services, hostNetwork ports."""

MODULES = (
    "engine_host_loopback",
    "bootstrap_port_rank_mismatch",
    "dist_init_addr_rank_mismatch",
    "hostnetwork_dns_policy",
    "engine_port_conflict",
    "hostnetwork_port_clash",
    "nccl_port_range_overlap",
    "hostnetwork_port_in_nodeport_range",
)
