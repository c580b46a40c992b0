"""Bootstrap and network rules: bind addresses, Services, hostNetwork ports."""

MODULES = ()
