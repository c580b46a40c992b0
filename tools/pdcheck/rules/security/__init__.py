"""Security and reliability rules: privileges, host mounts, exposure, router availability and
probes, image pinning, shared-memory limits. docs/security.md explains the threat model."""

MODULES = (
    "privileged_without_reason",
    "hostpath_writable",
    "exposed_without_auth",
    "router_single_replica",
    "router_no_pdb",
    "router_probes_missing",
    "router_probe_endpoints",
    "router_resources_missing",
    "image_unpinned",
    "shm_without_size_limit",
)
