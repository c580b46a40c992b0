"""RDMA rules: device names, GID index, device access."""

MODULES = (
    "rdma_device_excluded",
    "rdma_device_sets_differ",
    "rdma_devices_rank_drift",
    "roce_gid_index_missing",
    "rdma_devices_missing",
    "rdma_memlock",
    "deepep_ibgda_unprivileged",
)
