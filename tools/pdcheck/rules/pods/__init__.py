"""Pod and LeaderWorkerSet rules: /dev/shm, probes, startup, restart and rollout policy."""

MODULES = ("dev_shm_missing", "engine_readiness_probe", "probe_port_not_served", "startup_probe_budget",
           "liveness_without_startup", "health_probe_timeout", "leader_ready_deadlock", "lws_restart_policy",
           "lws_name_invalid", "lws_rollout_no_progress", "pod_index_label_unavailable", "command_not_split",)
