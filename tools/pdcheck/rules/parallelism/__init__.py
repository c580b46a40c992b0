"""Parallelism rules: tp/dp/pp/ep against nodes, GPUs and each other."""

MODULES = ("tp_gpu_mismatch",)
