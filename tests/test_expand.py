import pytest

from pdcheck.expand import expand

ENV = {"A": "1", "B": "x", "EMPTY": ""}


@pytest.mark.parametrize("text, expected, unresolved", [
    ("plain", "plain", []),
    ("$(A):20102", "1:20102", []),
    ("$(A)$(B)", "1x", []),
    ("$$(A)", "$(A)", []),           # $$ escapes
    ("$$$(A)", "$1", []),
    ("$(C)", "$(C)", ["C"]),         # unknown stays literal
    ("pre-$(C)-$(A)", "pre-$(C)-1", ["C"]),
    ("$(A", "$(A", []),              # incomplete reference kept
    ("$A ${A}", "$A ${A}", []),      # shell syntax is not expanded
    ("trailing$", "trailing$", []),
    ("$(EMPTY)", "", []),
    ("$()", "$()", [""]),
])
def test_expand_matches_kubelet(text, expected, unresolved):
    missing = []
    assert expand(text, ENV.get, missing) == expected
    assert missing == unresolved
