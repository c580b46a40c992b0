"""Pod and LeaderWorkerSet rules: /dev/shm, probes, startup, restart and rollout policy."""

MODULES = ()
