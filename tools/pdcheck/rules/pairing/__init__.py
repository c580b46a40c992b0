"""Prefill/decode pairing rules: what both roles must agree on."""

MODULES = ()
