"""Flag rules: every SGLang and router flag exists in the pinned version with a valid value."""

MODULES = (
    "flag_unknown",
    "flag_ambiguous",
    "flag_deprecated",
    "flag_invalid_value",
)
