"""Environment and $(VAR) expansion rules."""

MODULES = ("unresolved_variable", "shell_style_variable",)
