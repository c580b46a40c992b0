"""Security and reliability rules: privileges, host mounts, exposure, router probes, image pinning,
shared-memory limits. docs/security.md explains the threat model."""

MODULES = (
    "privileged_without_reason",
    "hostpath_writable",
    "exposed_without_auth",
    "router_probes_missing",
    "router_probe_endpoints",
    "image_unpinned",
    "shm_without_size_limit",
)
