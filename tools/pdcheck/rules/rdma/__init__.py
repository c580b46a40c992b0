"""RDMA rules: device names, GID index, device access."""

MODULES = ()
