import pytest

from pdcheck.config import find_config, load_config
from pdcheck.errors import InputError
from pdcheck.findings import Severity

RULES = {"tp-gpu-mismatch", "shell-style-variable"}


def test_found_upward_and_parsed(tmp_path):
    (tmp_path / ".pdcheck.yaml").write_text(
        "k8s-versions: ['1.30']\nsglang-version: 0.5.6.post2\ncrds: [crd.yaml]\nservice-node-port-range: 31000-31999\n"
        "rules:\n  tp-gpu-mismatch: off\n  shell-style-variable: warning\n"
    )
    deep = tmp_path / "overlays" / "x"
    deep.mkdir(parents=True)
    path = find_config(deep)
    assert path == tmp_path / ".pdcheck.yaml"
    cfg = load_config(path, RULES)
    assert cfg.k8s_versions == ["1.30"] and cfg.sglang_version == "0.5.6.post2"
    assert cfg.crds == [tmp_path / "crd.yaml"]
    assert cfg.node_port_range == (31000, 31999)
    assert cfg.rule_severity == {"tp-gpu-mismatch": None, "shell-style-variable": Severity.WARNING}


@pytest.mark.parametrize("text, message", [
    ("- a\n", "mapping"),
    ("colour: red\n", "unknown setting"),
    ("rules:\n  no-such-rule: off\n", "unknown rule"),
    ("rules:\n  tp-gpu-mismatch: loud\n", "not one of"),
    ("k8s-versions: 1.26\n", "non-empty list"),
    ("service-node-port-range: 30000\n", "service-node-port-range must look like"),
    ("service-node-port-range: 32767-30000\n", "service-node-port-range must look like"),
])
def test_bad_config_is_input_error(tmp_path, text, message):
    path = tmp_path / ".pdcheck.yaml"
    path.write_text(text)
    with pytest.raises(InputError, match=message):
        load_config(path, RULES)
