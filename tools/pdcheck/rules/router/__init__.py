"""Router rules: static URLs, service discovery, timeouts."""

MODULES = ()
