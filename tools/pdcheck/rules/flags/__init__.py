"""Flag rules: every SGLang and router flag exists in the pinned version with a valid value."""

MODULES = (
    "flag_unknown",
    "flag_ambiguous",
    "flag_deprecated",
    "flag_invalid_value",
    "flag_value_out_of_range",
    "shell_script_not_understood",
)
