"""Pod and LeaderWorkerSet rules: /dev/shm, probes, startup, restart and rollout policy."""

MODULES = ("dev_shm", "engine_readiness", "probe_port", "startup_budget", "liveness_without_startup",
           "health_probe_timeout", "leader_ready_deadlock", "lws_restart_policy", "lws_name", "lws_rollout",)
