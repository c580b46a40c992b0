"""Flag rules: every SGLang and router flag exists in the pinned version with a valid value."""

MODULES = ()
