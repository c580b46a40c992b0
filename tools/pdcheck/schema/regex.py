"""`pattern` keywords matched with RE2 (google-re2): linear time, whatever the pattern.

A CRD is input like any other (`--crd`, `crds:` in .pdcheck.yaml, possibly from the pull request
being checked), and a backtracking engine lets one pattern stall a run: Python's `re` takes
minutes on `^(a+)+$` against 34 characters. RE2 matches in time linear in the input, and its
syntax is Go's `regexp`, which is what the API server validates CRD patterns with
(k8s.io/apiextensions-apiserver, validation.go). Patterns RE2 cannot compile (backreferences,
lookaround: the API server rejects those CRDs too) are left unchecked, as before.

Without google-re2 (a platform with no wheel) patterns from CRDs are not checked at all (crd.py),
and the built-in schemas' few fixed patterns use Python's `re`.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Callable

try:
    import re2
except ImportError:  # pragma: no cover - every supported platform has a wheel
    re2 = None

HAVE_RE2 = re2 is not None


@lru_cache(maxsize=4096)
def searcher(pattern: str) -> Callable[[str], bool] | None:
    """A function text -> whether `pattern` matches somewhere in it (JSON Schema `pattern`), or
    None when the pattern cannot be compiled."""
    if not isinstance(pattern, str):
        return None
    if re2 is not None:
        options = re2.Options()
        options.log_errors = False  # RE2 logs every rejected pattern to stderr otherwise
        try:
            regex = re2.compile(pattern, options)
        except re2.error:
            return None
    else:
        try:
            regex = re.compile(pattern)
        except (re.error, TypeError):
            return None
    return lambda text: regex.search(text) is not None


def pattern_keyword(validator, pattern, instance, schema):
    """jsonschema's `pattern` keyword with searcher() instead of re.search."""
    if not validator.is_type(instance, "string"):
        return
    search = searcher(pattern)
    if search is not None and not search(instance):
        from jsonschema.exceptions import ValidationError

        yield ValidationError(f"{instance!r} does not match {pattern!r}")
