"""pdcheck: catch SGLang prefill/decode deployment mistakes before they cost GPU hours."""

__version__ = "0.1.0"
