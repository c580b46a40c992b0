import pytest

from pdcheck.expand import expand, is_variable_reference

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


@pytest.mark.parametrize("name, in_script, reference", [
    ("LWS_LEADER_ADDRES", False, True),
    ("hostname", False, True),          # outside a shell, $(hostname) reaches the program literally
    ("hostname", True, False),          # in `sh -c`, it is the shell's command substitution
    ("hostname -i", False, False),
    ("(LWS_WORKER_INDEX + 1", False, False),  # what kubelet reads of $((LWS_WORKER_INDEX + 1))
    ("(LWS_WORKER_INDEX + 1", True, False),
    ("LWS_LEADER_ADDRES", True, True),  # written like a variable: a typo, even in a script
    ("", False, False),
])
def test_is_variable_reference(name, in_script, reference):
    assert is_variable_reference(name, in_script) is reference
