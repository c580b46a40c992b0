"""Input and schema rules."""

MODULES = ("schema_invalid", "needs_newer_kubernetes", "schema_unknown_kind", "wrapper_kind_not_checked", "yaml_duplicate_key",
           "ignore_unknown_rule", "kustomize_replacement_order", "ome_runtime_not_in_render",)
