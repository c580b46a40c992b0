"""Security and reliability rules."""

MODULES = ()
