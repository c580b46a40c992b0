"""Input and schema rules."""

MODULES = ("schema_invalid", "schema_unknown_kind", "wrapper_kind_not_checked", "yaml_duplicate_key",)
