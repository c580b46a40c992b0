"""Environment and $(VAR) expansion rules."""

MODULES = ("unresolved_variable", "shell_style_variable", "envsubst_placeholder", "unread_sglang_env", "deprecated_sgl_env",
           "env_drift", "mooncake_thread_pool_below_queue",)
