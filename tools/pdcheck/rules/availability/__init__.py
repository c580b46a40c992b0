"""Availability rules: the router, the only way in, survives a node drain or a crash."""

MODULES = (
    "router_single_replica",
    "router_no_pdb",
    "router_resources_missing",
)
