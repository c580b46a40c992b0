"""Input and schema rules."""

MODULES = ("schema_invalid", "schema_unknown_kind", "yaml_duplicate_key",)
