"""The one flag API (ContainerRun.flag and its typed accessors) and the layout computed from it."""

from __future__ import annotations

import pytest
import yaml

from pdcheck.model import Flag, build_model
from pdcheck.objects import Render
from pdcheck.render import objects_from_stream
from pdcheck.rules.network._helpers import pod_ports


def engine(args: list[str], version: str = "0.5.6.post2", env: list[dict] | None = None, host_network: bool = False):
    """The SGLang container of a one-pod Deployment running `args` against catalog `version`."""
    doc = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "e"},
           "spec": {"selector": {"matchLabels": {"app": "e"}}, "template": {
               "metadata": {"labels": {"app": "e"}},
               "spec": {"hostNetwork": host_network, "containers": [{
                   "name": "engine", "image": "lmsysorg/sglang:latest",
                   "command": ["python3", "-m", "sglang.launch_server"], "args": args, "env": env or []}]}}}}
    objects, non_objects = objects_from_stream(yaml.safe_dump(doc), "e.yaml", None)
    model = build_model(Render("e.yaml", "file", objects, non_objects), {"sglang": version})
    return model.workloads[0].pods[0]


def test_explicit_default_runtime_and_missing_options():
    c = engine(["--tp-size", "4", "--dist-init-addr", "$(POD_IP):5000", "--model-path", "$(MODEL)"],
               env=[{"name": "POD_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}}]).engine
    assert c.flag("--tp-size") == Flag("--tp-size", Flag.EXPLICIT, 4)
    assert c.flag("--dp-size") == Flag("--dp-size", Flag.DEFAULT, 1)  # SGLang 0.5.6's default
    for runtime in ("--dist-init-addr", "--model-path"):  # a fieldRef placeholder, an undefined $(VAR)
        assert c.flag(runtime) == Flag(runtime, Flag.RUNTIME) and c.flag(runtime).written and not c.flag(runtime).known
    assert c.flag("--attn-dp-size") == Flag("--attn-dp-size", Flag.NO_OPTION)  # 0.5.23 only
    assert (c.int_flag("--tp-size"), c.int_flag("--model-path"), c.str_flag("--tp-size")) == (4, None, None)
    assert c.bool_flag("--enable-dp-attention") is False


@pytest.mark.parametrize("args, version, want", [
    (["--tp-size", "8", "--dp-size", "8", "--enable-dp-attention"], "0.5.6.post2", (8, 1, 8)),
    # 0.5.6 turns DP attention off again with dp 1 (server_args.py _handle_data_parallelism);
    # before the layout was computed once, the port model took it as on.
    (["--tp-size", "8", "--dp-size", "1", "--enable-dp-attention"], "0.5.6.post2", (8, 1, 1)),
    (["--tp-size", "8", "--dp-size", "2"], "0.5.6.post2", (8, 2, 1)),
    # 0.5.23: --attn-dp-size is the width; the deprecated spelling moves --dp-size into it.
    (["--tp-size", "8", "--attn-dp-size", "4"], "0.5.23", (8, 1, 4)),
    (["--tp-size", "8", "--dp-size", "4", "--enable-dp-attention"], "0.5.23", (8, 1, 4)),
])
def test_layout_follows_sglang_per_version(args, version, want):
    lay = engine(args, version).engine.layout
    assert (lay.tp, lay.dp, lay.attn_dp) == want
    assert lay.dp_attention == (want[2] > 1)


def test_layout_role_rank_and_ep():
    c = engine(["--disaggregation-mode", "prefill", "--tp-size", "8", "--moe-a2a-backend", "deepep", "--ep-size", "2"]).engine
    assert (c.layout.role, c.layout.node_rank, c.layout.ep) == ("prefill", 0, 8)  # deepep forces ep = tp
    assert engine(["--node-rank", "3"]).engine.layout.node_rank == 3
    assert engine([]).engine.layout.role == "null"


def test_dp_attention_ports_agree_with_the_layout():
    """--enable-dp-attention --dp-size 1 on 0.5.6: no DP-attention ZMQ ports next to --dist-init-addr."""
    off = engine(["--dist-init-addr", "10.0.0.1:5000", "--enable-dp-attention", "--dp-size", "1", "--tp-size", "8"], host_network=True)
    on = engine(["--dist-init-addr", "10.0.0.1:5000", "--enable-dp-attention", "--dp-size", "8", "--tp-size", "8"], host_network=True)
    assert {u.port for u in pod_ports(off)[0]} == {30000, 5000}
    assert {u.port for u in pod_ports(on)[0]} == {30000, 5000, 5001, 5002, 5003, 5004, 5005}
