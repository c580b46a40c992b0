"""Hypothesis strategies that damage real manifests (tests/test_robustness.py).

Seeds are the clean baseline fixture and every golden render; each example deep-copies one seed
and applies a few mutations to it: drop a field, retype it, duplicate list items, nasty strings,
deep nesting, huge or negative numbers, swapped kinds/apiVersions, shuffled or garbled argv, ports
out of range, foreign keys (ints, booleans, null as mapping keys), whole objects duplicated or
wrapped in a List. Only values a YAML stream can carry are generated (the data is dumped to YAML
and parsed back the way pdcheck reads a file), so anything a crash needs can also come from a user.

The text strategies damage the serialised YAML instead: delete/insert/duplicate characters and
lines, tabs, YAML syntax, invalid UTF-8 bytes, truncation.
"""

from __future__ import annotations

import copy
import datetime
from functools import lru_cache
from pathlib import Path

from hypothesis import strategies as st

from pdcheck.yamlio import load_documents

TESTS = Path(__file__).resolve().parent
SEED_FILES = {"baseline": TESTS / "fixtures" / "baseline.yaml",
              **{p.stem: p for p in sorted((TESTS / "golden").glob("*.yaml"))}}


@lru_cache(maxsize=None)
def seed_text(name: str) -> str:
    return SEED_FILES[name].read_text(encoding="utf-8")


@lru_cache(maxsize=None)
def _seed_docs(name: str) -> tuple:
    return tuple(d.data for d in load_documents(seed_text(name), name) if d.data is not None)


def seed_docs(name: str) -> list:
    return copy.deepcopy(list(_seed_docs(name)))


SEEDS = tuple(SEED_FILES)

# --- values ---------------------------------------------------------------------------------------

# Keys that matter to the model and the rules: mutations aim at them half of the time.
HOT_KEYS = frozenset({
    "size", "replicas", "containerPort", "hostPort", "port", "targetPort", "nodePort", "args", "command",
    "env", "envFrom", "value", "valueFrom", "image", "kind", "apiVersion", "name", "namespace", "resources",
    "limits", "requests", "nvidia.com/gpu", "containers", "initContainers", "leaderTemplate",
    "workerTemplate", "leaderWorkerTemplate", "template", "spec", "metadata", "labels", "annotations",
    "selector", "matchLabels", "ports", "volumes", "volumeMounts", "hostNetwork", "dnsPolicy",
    "securityContext", "readinessProbe", "livenessProbe", "startupProbe", "data", "networkConfig",
    "subdomainPolicy", "rolloutStrategy", "startupPolicy", "medium", "sizeLimit", "path", "hostPath",
    "fieldRef", "fieldPath", "configMapKeyRef", "configMapRef", "secretRef", "key", "prefix",
    "maxUnavailable", "minAvailable", "rules", "subjects", "roleRef", "verbs", "resourceNames",
})

NASTY_STRINGS = [
    "", " ", "\t", "\n", "\x00", "\ufeff", "\u202e", "💥", "ﬀ", "İ", "a\u0300", "\\", "'", '"', "#", "&a", "*a",
    "!!int", "- x", "{", "[", "}", "]", ":", ": ", "---", "...", "%YAML 1.2", "null", "~", "yes", "no", "on",
    "off", "y", "NaN", ".inf", "-.inf", "0x10", "0o17", "017", "1_000", "1e9", "1:20", "=", "-", "--", "---x",
    "-1", "0", "00", "16", "8x", "1.5", "-0", "+8", "१६", "$", "$$", "$$$", "$(", "$()", "$(A", "$(A)",
    "$($(A))", "$$(A)", "$(LWS_GROUP_SIZE)", "$(LWS_WORKER_INDEX", "$(LWS_LEADER_ADDRESS):", "${HOME}",
    "$HOME", "$(" * 200, "$$" * 500, "x" * 100_000, "-" * 5000, "é" * 20_000, "--tp-size", "--tp-size=",
    "--tp-size=x", "--tp=16", "--tp-size=99999999999999999999", "--port=-1", "--port=70000",
    "--dist-init-addr", "--dist-init-addr=:", "--dist-init-addr=[::1]:x", "[::1]:20102", "host:-5",
    "host:99999999999999999999999", "a:b:c", "--disaggregation-mode=prefill", "--disaggregation-mode=bogus",
    "--disaggregation-ib-device=", ",,,", "mlx5_0,,mlx5_1", "--json-model-override-args={", "-c", "sh",
    "bash", "python3", "-m", "sglang.launch_server", "sglang_router.launch_router", "sglang.launch_server --tp 8",
    "python3 -m sglang.launch_server --tp-size 8 $(LWS_GROUP_SIZE) --port", "exec python -m sglang_router.launch_router",
    "lmsysorg/sglang:", "lmsysorg/sglang:latest", "lmsysorg/sglang:v", "lmsysorg/sglang:v0.5.6.post2-cu129@sha256:",
    "lmsysorg/sglang@sha256:deadbeef", "lmsysorg/sglang:v999.999.999", "lmsysorg/sglang:v0.0.0",
    "lmsysorg/sglang:v0.5.x", "x" * 300 + ":v0.5.6", "nvidia.com/gpu", "metadata.labels['", "metadata.labels['a']",
    "metadata.annotations['leaderworkerset.sigs.k8s.io/size']", "metadata.name", "spec.serviceAccountName",
    "UniquePerReplica", "Shared", "Memory", "ClusterFirstWithHostNet", "None", "LeaderReady", "LeaderCreated",
    "RollingUpdate", "16Gi", "-1Gi", "1e400", "0.5", "100%", "-50%", "abc%", "10000000000000000000000Gi",
    # Past CPython's 4300-digit int() limit, and digits int() refuses although isdigit() accepts them.
    "9" * 5000, "0." + "9" * 5000, "lmsysorg/sglang:v0.5." + "9" * 5000, "lmsysorg/sglang:v" + "1" * 5000 + ".0",
    # Past a float's range but within int()'s digit limit: int/int true division overflows.
    "9" * 400, "-" + "9" * 400, "1" + "0" * 400,
    "--tp-size=" + "9" * 5000, "²", "٣", "12³", "-" + "9" * 5000 + "%", "r1-prefill-" + "1" * 5000,
]

HUGE_NUMBERS = [
    -1, 0, 1, -(2**31), 2**31, 2**31 - 1, 2**32, 2**53 + 1, 2**63 - 1, 2**63, -(2**63) - 1, 2**64, 10**9,
    -(10**9), 10**18, 10**30, 10**300, -(10**300), 10**400, -(10**400), 10**4000, 0.5, -0.0, 1e308, float("inf"), float("-inf"),
    float("nan"), 1e-300,
]

PORTS = [-1, 0, 1, 1023, 65535, 65536, 70000, 10**9, -(10**9), 2**63, 8998.5, "8998", "http", "", "-1",
         "65536", "0x10", None, True, [8998], {"port": 8998}]

KINDS = ["LeaderWorkerSet", "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob", "Pod",
         "Service", "ConfigMap", "Secret", "Namespace", "ServiceAccount", "Role", "RoleBinding", "ClusterRole",
         "PodDisruptionBudget", "List", "Widget", "leaderworkerset", "", "LeaderWorkerSet "]
API_VERSIONS = ["leaderworkerset.x-k8s.io/v1", "leaderworkerset.x-k8s.io/v2", "apps/v1", "apps/v1beta1", "v1",
                "batch/v1", "policy/v1", "rbac.authorization.k8s.io/v1", "example.com/v1", "", "/", "v1/",
                "a/b/c"]


def text_values():
    return st.one_of(
        st.sampled_from(NASTY_STRINGS),
        st.text(st.characters(blacklist_categories=("Cs",)), max_size=40),
        st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7e), max_size=20),
    )


def scalars():
    return st.one_of(
        st.none(), st.booleans(), st.sampled_from(HUGE_NUMBERS), st.integers(), st.floats(),
        text_values(), st.binary(max_size=16),
        st.dates(min_value=datetime.date(1, 1, 1)),
    )


def keys():
    """Mapping keys YAML can produce: strings mostly, but also ints, booleans, null, floats."""
    return st.one_of(text_values(), st.sampled_from(sorted(HOT_KEYS)), st.integers(-5, 2**70), st.booleans(),
                     st.none(), st.floats(allow_nan=False))


def values(max_leaves: int = 8):
    return st.recursive(
        scalars(),
        lambda children: st.one_of(
            st.lists(children, max_size=4),
            st.dictionaries(keys(), children, max_size=4),
            st.sets(st.sampled_from(["a", "b", "c"]), max_size=3),
        ),
        max_leaves=max_leaves,
    )


# Values of each kind _kind_of tells apart, for retyping a field to a different one (no filtering).
_BY_KIND = {
    "none": st.none,
    "bool": st.booleans,
    "number": lambda: st.sampled_from(HUGE_NUMBERS) | st.integers() | st.floats(),
    "str": text_values,
    "list": lambda: st.lists(values(4), max_size=4),
    "dict": lambda: st.dictionaries(keys(), values(4), max_size=4),
    "set": lambda: st.sets(st.sampled_from(["a", "b", "c"]), max_size=3),
    "other": lambda: st.binary(max_size=16) | st.dates(min_value=datetime.date(1, 1, 1)),
}


def _kind_of(value) -> str:
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "str"
    if isinstance(value, (list, dict, set)):
        return type(value).__name__
    return "other"


# --- navigating the documents -------------------------------------------------------------------

def all_paths(root) -> list[tuple]:
    """Every path (a tuple of keys/indexes) into `root` that names a value, root excluded."""
    out, stack = [], [((), root)]
    while stack:
        path, node = stack.pop()
        if isinstance(node, dict):
            items = list(node.items())
        elif isinstance(node, list):
            items = list(enumerate(node))
        else:
            continue
        for key, child in items:
            out.append(path + (key,))
            stack.append((path + (key,), child))
    return out


def get(root, path: tuple):
    for key in path:
        root = root[key]
    return root


def put(root, path: tuple, value) -> None:
    get(root, path[:-1])[path[-1]] = value


def _draw_path(draw, docs: list, want=None) -> tuple | None:
    """A path into the document list (first element: the document index), hot keys preferred."""
    paths = [p for p in all_paths(docs) if len(p) > 1]
    if want is not None:
        paths = [p for p in paths if want(p, get(docs, p))]
    if not paths:
        return None
    hot = [p for p in paths if any(isinstance(k, str) and k in HOT_KEYS for k in p[-2:])]
    if hot and draw(st.booleans()):
        paths = hot
    return draw(st.sampled_from(paths))


def _is_argv(path: tuple, value) -> bool:
    return isinstance(value, list) and path[-1] in ("args", "command")


# --- mutations: each takes (draw, docs), changes docs in place and returns what it did -------------

def m_drop(draw, docs):
    path = _draw_path(draw, docs)
    if path is None:
        return "drop: nothing"
    del get(docs, path[:-1])[path[-1]]
    return f"drop {path}"


def m_retype(draw, docs):
    path = _draw_path(draw, docs)
    if path is None:
        return "retype: nothing"
    old = get(docs, path)
    kind = draw(st.sampled_from([k for k in _BY_KIND if k != _kind_of(old)]))
    new = draw(_BY_KIND[kind]())
    put(docs, path, new)
    return f"retype {path}: {_short(old)} -> {_short(new)}"


def m_duplicate_item(draw, docs):
    path = _draw_path(draw, docs, lambda p, v: isinstance(v, list) and v)
    if path is None:
        return "duplicate: no list"
    items = get(docs, path)
    i = draw(st.integers(0, len(items) - 1))
    times = draw(st.sampled_from([1, 1, 2, 50]))
    for _ in range(times):
        items.insert(draw(st.integers(0, len(items))), copy.deepcopy(items[i]))
    return f"duplicate {path}[{i}] x{times}"


def m_nasty_string(draw, docs):
    path = _draw_path(draw, docs, lambda p, v: isinstance(v, str))
    if path is None:
        return "string: none"
    new = draw(text_values())
    if draw(st.booleans()):
        old = get(docs, path)
        new = draw(st.sampled_from([old + new, new + old, old[: len(old) // 2] + new]))
    put(docs, path, new)
    return f"string {path} = {_short(new)}"


def _height(value) -> int:
    """Levels of nesting in value (a scalar: 0), without recursion."""
    height, level = 0, [value]
    while level:
        level = [c for v in level for c in (v.values() if isinstance(v, dict) else v if isinstance(v, list) else ())]
        height += 1 if level else 0
    return height


def m_deep_nest(draw, docs):
    path = _draw_path(draw, docs)
    if path is None:
        return "nest: nothing"
    value = get(docs, path)
    # pdcheck refuses YAML nested over 200 levels; PyYAML's (recursive) dumper must still cope: <= 220 in all.
    room = 220 - len(path) - _height(value)
    if room < 1:
        return "nest: too deep already"
    depth = min(draw(st.sampled_from([1, 2, 10, 100, 180, 210])), room)
    for i in range(depth):
        value = [value] if draw(st.booleans()) else {f"k{i % 3}": value}
    put(docs, path, value)
    return f"nest {path} depth {depth}"


def m_huge(draw, docs):
    path = _draw_path(draw, docs, lambda p, v: isinstance(v, (int, float, str)) and not isinstance(v, bool)
                      or p[-1] in ("size", "replicas"))
    if path is None:
        return "huge: nothing"
    number = draw(st.sampled_from(HUGE_NUMBERS) | st.integers())
    new = str(number) if draw(st.booleans()) else number
    put(docs, path, new)
    return f"huge {path} = {_short(new)}"


def m_lws_numbers(draw, docs):
    """size/replicas of LWS and Deployments: negative, zero, huge, strings, wrong types."""
    targets = [d for d in docs if isinstance(d, dict) and isinstance(d.get("spec"), dict)]
    if not targets:
        return "lws numbers: no spec"
    doc = draw(st.sampled_from(targets))
    value = draw(st.sampled_from([-(10**9), -1, 0, 1, 3, 17, 10**9, 2**63, 10**30, "10", "-3", "1e9", "many",
                                  None, 2.5, True, [2], {"n": 2}]))
    if draw(st.booleans()) and isinstance(doc["spec"].get("leaderWorkerTemplate"), dict):
        doc["spec"]["leaderWorkerTemplate"]["size"] = value
        return f"size = {value!r}"
    doc["spec"]["replicas"] = value
    return f"replicas = {value!r}"


def m_ports(draw, docs):
    path = _draw_path(draw, docs, lambda p, v: p[-1] in ("containerPort", "hostPort", "port", "targetPort",
                                                        "nodePort") or (isinstance(v, str) and v.isdigit()))
    if path is None:
        return "ports: nothing"
    new = draw(st.sampled_from(PORTS))
    put(docs, path, new)
    return f"port {path} = {new!r}"


def m_swap_kind(draw, docs):
    objects = [d for d in docs if isinstance(d, dict)]
    if not objects:
        return "kind: no objects"
    doc = draw(st.sampled_from(objects))
    what = draw(st.sampled_from(["kind", "apiVersion", "both", "other-object"]))
    if what in ("kind", "both"):
        doc["kind"] = draw(st.sampled_from(KINDS))
    if what in ("apiVersion", "both"):
        doc["apiVersion"] = draw(st.sampled_from(API_VERSIONS))
    if what == "other-object":
        other = draw(st.sampled_from(objects))
        doc["kind"], doc["apiVersion"] = other.get("kind"), other.get("apiVersion")
    return f"kind -> {doc.get('apiVersion')!r} {doc.get('kind')!r}"


def m_shuffle(draw, docs):
    path = _draw_path(draw, docs, lambda p, v: isinstance(v, list) and len(v) > 1)
    if path is None:
        return "shuffle: nothing"
    items = get(docs, path)
    put(docs, path, draw(st.permutations(items)))
    return f"shuffle {path}"


def m_garble_argv(draw, docs):
    path = _draw_path(draw, docs, _is_argv)
    if path is None:
        return "argv: none"
    argv = get(docs, path)
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["remove", "insert", "replace", "join", "split", "value", "shell", "empty"]))
        i = draw(st.integers(0, max(len(argv) - 1, 0)))
        if op == "remove" and argv:
            del argv[i]
        elif op == "insert":
            argv.insert(i, draw(text_values()))
        elif op == "replace" and argv:
            argv[i] = draw(text_values() | st.sampled_from([None, 8, True, [], {}, 1.5]))
        elif op == "join" and len(argv) > i + 1 and isinstance(argv[i], str) and isinstance(argv[i + 1], str):
            argv[i:i + 2] = [f"{argv[i]}={argv[i + 1]}"]
        elif op == "split" and argv and isinstance(argv[i], str):
            token = argv[i]
            cut = draw(st.integers(0, len(token)))
            argv[i:i + 1] = [token[:cut], token[cut:]]
        elif op == "value" and argv and isinstance(argv[i], str) and argv[i].startswith("--"):
            argv.insert(i + 1, draw(st.sampled_from(["-1", "0", "99999999999999999999", "x", "", "--port", "1e9",
                                                     "$(NOPE)", "$(LWS_GROUP_SIZE)", "{}", "[", "nan", "inf"])))
        elif op == "shell":
            flat = " ".join(str(a) for a in argv)
            argv[:] = draw(st.sampled_from([["sh", "-c", flat], ["bash", "-lc", flat + " &&"], ["sh", "-c"],
                                            ["/bin/sh", "-c", "exec " + flat + " '"], ["sh", "-c", flat, "extra"]]))
        elif op == "empty":
            argv.clear()
    return f"argv {path} -> {_short(argv)}"


def m_add_key(draw, docs):
    path = _draw_path(draw, docs, lambda p, v: isinstance(v, dict))
    target = get(docs, path) if path is not None else draw(st.sampled_from(docs)) if docs else None
    if not isinstance(target, dict):
        return "add key: nothing"
    key, value = draw(keys()), draw(values(4))
    target[key] = value
    return f"add {path}[{key!r}] = {_short(value)}"


def m_graft(draw, docs):
    """Move a subtree somewhere else (a containers list where env goes, a pod spec as an arg...)."""
    src, dst = _draw_path(draw, docs), _draw_path(draw, docs)
    if src is None or dst is None or dst[: len(src)] == src or len(dst) + _height(get(docs, src)) > 220:
        return "graft: nothing"
    put(docs, dst, copy.deepcopy(get(docs, src)))
    return f"graft {src} -> {dst}"


def m_objects(draw, docs):
    """Whole-document damage: duplicate an object, replace one with a scalar, wrap all in a List."""
    if not docs:
        return "objects: none"
    op = draw(st.sampled_from(["duplicate", "scalar", "list", "list-of-junk", "empty", "drop"]))
    i = draw(st.integers(0, len(docs) - 1))
    if op == "duplicate":
        docs.insert(i, copy.deepcopy(docs[i]))
    elif op == "scalar":
        docs[i] = draw(scalars())
    elif op == "list":
        docs[:] = [{"apiVersion": "v1", "kind": "List", "items": list(docs)}]
    elif op == "list-of-junk":
        docs.append({"apiVersion": "v1", "kind": "List", "items": draw(st.lists(values(3), max_size=3))})
    elif op == "empty":
        docs[i] = {}
    elif op == "drop":
        del docs[i]
    return f"objects {op} {i}"


# Flags and env vars the rules compute with (divisions, port arithmetic, device lists, URLs).
RULE_FLAGS = ["--port", "--nnodes", "--tp-size", "--dp-size", "--disaggregation-bootstrap-port", "--pp-size",
              "--moe-a2a-backend", "--ep-size", "--attn-dp-size", "--page-size", "--dist-init-addr",
              "--disaggregation-mode", "--deepep-mode", "--mooncake-ib-device", "--model-path",
              "--enable-dp-attention", "--disaggregation-transfer-backend", "--worker-startup-timeout-secs",
              "--service-discovery-port", "--service-discovery", "--prometheus-port", "--max-running-requests",
              "--host", "--ep-num-redundant-experts", "--disaggregation-ib-device", "--chunked-prefill-size",
              "--prefill-selector", "--prefill", "--decode", "--nccl-port", "--node-rank", "--cuda-graph-max-bs",
              "--cuda-graph-bs", "--decode-selector", "--service-discovery-namespace", "--api-key", "--tp", "--dp",
              "--ep", "--attn-cp-size", "--kv-cache-dtype", "--load-balance-method", "--policy"]
FLAG_VALUES = ["0", "-1", "1", "2", "3", "7", "16", "17", "1024", "65535", "65536", "1000000001", "99999999999999999999",
               "9" * 400, "1" + "0" * 400, "9" * 5000, "1.5", "nan", "inf", "-inf", "1e9", "0x10", "", " ", "none", "None", "auto", "deepep", "mooncake",
               "nixl", "prefill", "decode", "null", "normal", "low_latency", "$(LWS_GROUP_SIZE)", "$(LWS_WORKER_INDEX)",
               "$(LWS_LEADER_ADDRESS):20102", "$(LWS_LEADER_ADDRESS)", "$(UNDEFINED)", "$(POD_IP):5000", ":5000", "host:",
               "[::1]:5000", "[::1]", "::1", "[fe80::1%eth0]:1", "1.2.3.4:99999", "a:b:c", "http://", "http://[::1",
               "http://x:-1", "http://r1-prefill-leader:30000", "http://r1-prefill-0.r1-prefill:30000",
               "http://r1-prefill-0-1.r1-prefill.default.svc.cluster.local:30000", "grpc://x", "//x", "mlx5_0",
               "mlx5_0,mlx5_1", "^mlx5_0", "=mlx5_0:1", ",", "/nonexistent.json", "app=x", "a=b c=d", "=", "a=",
               "{}", "[]", '{"a": 1}', "/models/DeepSeek-R1", "/models/Qwen3-235B-A22B/", "fp8_e4m3", "x" * 300]
ENV_NAMES = ["NCCL_IB_HCA", "NCCL_IB_GID_INDEX", "NCCL_IB_DISABLE", "NVSHMEM_HCA_LIST", "NVSHMEM_HCA_PE_MAPPING",
             "NVSHMEM_ENABLE_NIC_PE_MAPPING", "NVSHMEM_IB_GID_INDEX", "MC_GID_INDEX", "MC_FORCE_TCP", "MC_IB_PORT",
             "SGLANG_DISAGGREGATION_QUEUE_SIZE", "SGLANG_DISAGGREGATION_THREAD_POOL_SIZE", "SGL_CHUNKED_PREFIX_CACHE_THRESHOLD",
             "SGLANG_X", "SGL_X", "LWS_GROUP_SIZE", "LWS_WORKER_INDEX", "LWS_LEADER_ADDRESS", "POD_IP", "HF_TOKEN", "A",
             "", "1BAD", "a b", "$(A)", "SGLANG_HACK_DEEPEP_NUM_SMS"]


def m_flag_value(draw, docs):
    """Set a flag the rules compute with to an odd value (or add it), in an engine or router argv."""
    path = _draw_path(draw, docs, lambda p, v: _is_argv(p, v) and p[-1] == "args")
    if path is None:
        return "flag: no args"
    argv = get(docs, path)
    flag, value = draw(st.sampled_from(RULE_FLAGS)), draw(st.sampled_from(FLAG_VALUES) | text_values())
    form = draw(st.sampled_from(["separate", "equals", "bare", "twice"]))
    if flag in argv and form != "twice":
        i = argv.index(flag)
        if form == "bare":
            del argv[i + 1:i + 2]
        elif i + 1 < len(argv):
            argv[i + 1] = value
    elif form == "equals":
        argv.append(f"{flag}={value}")
    elif form == "bare":
        argv.append(flag)
    else:
        argv.extend([flag, value])
    return f"flag {flag} {form} {value[:40]!r}"


def m_env(draw, docs):
    """Add or change an env entry: odd names and values, valueFrom of every kind, envFrom sources."""
    path = _draw_path(draw, docs, lambda p, v: isinstance(v, dict) and len(p) > 1 and p[-2] in ("containers", "initContainers"))
    if path is None:
        return "env: no container"
    container = get(docs, path)
    name = draw(st.sampled_from(ENV_NAMES) | text_values())
    entry = draw(st.sampled_from(["value", "fieldRef", "configMapKeyRef", "secretKeyRef", "resourceFieldRef",
                                  "envFrom", "null-value", "junk"]))
    value = draw(st.sampled_from(FLAG_VALUES) | text_values())
    if entry == "value":
        item = {"name": name, "value": value}
    elif entry == "null-value":
        item = {"name": name, "value": None}
    elif entry == "fieldRef":
        item = {"name": name, "valueFrom": {"fieldRef": {"fieldPath": draw(st.sampled_from(
            ["metadata.name", "metadata.namespace", "status.podIP", "spec.serviceAccountName", "metadata.labels['",
             "metadata.labels['leaderworkerset.sigs.k8s.io/worker-index']", "metadata.annotations['x']", value]))}}}
    elif entry == "configMapKeyRef":
        item = {"name": name, "valueFrom": {"configMapKeyRef": {"name": draw(scalars()), "key": draw(scalars())}}}
    elif entry == "secretKeyRef":
        item = {"name": name, "valueFrom": {"secretKeyRef": {"name": value, "key": "k"}}}
    elif entry == "resourceFieldRef":
        item = {"name": name, "valueFrom": {"resourceFieldRef": {"resource": "limits.cpu"}}}
    elif entry == "envFrom":
        source = draw(st.sampled_from(["configMapRef", "secretRef"]))
        container.setdefault("envFrom", [])
        if isinstance(container["envFrom"], list):
            container["envFrom"].append({source: {"name": draw(scalars())}, "prefix": draw(scalars())})
        return f"envFrom {source}"
    else:
        item = draw(values(4))
    env = container.setdefault("env", [])
    if isinstance(env, list):
        env.insert(draw(st.integers(0, len(env))), item)
    return f"env {entry} {name[:30]!r}"


def m_wrong_type(draw, docs):
    """A mapping turned into a scalar or a list (`roleRef: x`, `resources: [x]`), or a number into a
    huge integer or a mapping: every field, not only the ones rules are known to read."""
    path = _draw_path(draw, docs, lambda p, v: isinstance(v, dict) or isinstance(v, (int, float)) and not isinstance(v, bool))
    if path is None:
        return "wrong type: nothing"
    old = get(docs, path)
    new = draw(st.sampled_from(WRONG_FOR_MAPPING if isinstance(old, dict) else WRONG_FOR_NUMBER))
    put(docs, path, copy.deepcopy(new))
    return f"wrong type {path}: {_short(old)} -> {_short(new)}"


WRONG_FOR_MAPPING = ["x", "", ["x"], [{"a": 1}], [], 10**400, True, None]
WRONG_FOR_NUMBER = [10**400, -(10**400), "9" * 400, {"a": 1}, ["1"]]


MUTATIONS = (m_wrong_type, m_flag_value, m_env, m_drop, m_retype, m_duplicate_item, m_nasty_string, m_deep_nest, m_huge, m_lws_numbers, m_ports,
             m_swap_kind, m_shuffle, m_garble_argv, m_add_key, m_graft, m_objects)


class Example:
    """A damaged input: shown by its seed and what was done to it (not by the whole manifest)."""

    def __init__(self, seed: str, data, log: list[str]):
        self.seed, self.data, self.log = seed, data, log

    def __iter__(self):
        return iter((self.seed, self.data, self.log))

    def __repr__(self):
        return f"Example({self.seed!r}, <{type(self.data).__name__}>, {self.log!r})"


@st.composite
def mutated_manifests(draw, max_mutations: int = 4):
    """(seed name, mutated documents, list of what was done)."""
    name = draw(st.sampled_from(SEEDS))
    docs = seed_docs(name)
    log = []
    for _ in range(draw(st.integers(1, max_mutations))):
        mutation = draw(st.sampled_from(MUTATIONS))
        log.append(mutation(draw, docs))
    return Example(name, docs, log)


# Mutations that make any seed certainly wrong (the schema or a rule must say so): a field of a
# clean manifest retyped between scalar and container, the kind turned into one with no schema,
# an LWS size below 1, ...
def _container_scalar_swap(draw, docs):
    path = _draw_path(draw, docs, lambda p, v: (isinstance(v, (dict, list)) and v)
                      or isinstance(v, (str, int, float)) and not isinstance(v, bool))
    old = get(docs, path)
    if isinstance(old, (dict, list)):
        new = draw(st.one_of(st.integers(), text_values(), st.floats(), st.booleans()))
    else:
        new = draw(st.one_of(st.lists(scalars(), min_size=1, max_size=3),
                             st.dictionaries(text_values(), scalars(), min_size=1, max_size=3)))
    put(docs, path, new)
    return f"swap {path}: {_short(old)} -> {_short(new)}"


def _unknown_kind(draw, docs):
    doc = draw(st.sampled_from(docs))
    doc["kind"] = draw(st.sampled_from(["Widget", "LeaderWorkerset", "Deploymnet", "leaderworkerset"]))
    return f"kind {doc['kind']}"


def _lws_size_below_one(draw, docs):
    templates = [d["spec"]["leaderWorkerTemplate"] for d in docs if d.get("kind") == "LeaderWorkerSet"]
    templates += [r["spec"]["leaderWorkerTemplate"] for d in docs if d.get("kind") == "DisaggregatedSet"
                  for r in d["spec"]["roles"]]  # each role is an LWS spec
    template = draw(st.sampled_from(templates))
    template["size"] = draw(st.sampled_from([0, -1, -(10**9), -(2**63)]))
    return f"size {template['size']}"


def _unknown_field(draw, docs):
    path = _draw_path(draw, docs, lambda p, v: isinstance(v, dict) and p[-1] in
                      ("spec", "metadata", "template", "leaderWorkerTemplate") or (p[-2] == "containers"))
    get(docs, path)[draw(st.sampled_from(["resource", "arg", "enviroment", "replica", "hostNetwrok"]))] = 1
    return f"unknown field under {path}"


def _argv_garbage_flag(draw, docs):
    path = _draw_path(draw, docs, lambda p, v: p[-1] == "args" and any(a == "--port" for a in v))
    argv = get(docs, path)
    argv.insert(draw(st.integers(0, len(argv))), draw(st.sampled_from(["--no-such-flag", "--tp-sise", "--portt"])))
    return f"bad flag in {path}"


BAD_MUTATIONS = (_container_scalar_swap, _unknown_kind, _lws_size_below_one, _unknown_field, _argv_garbage_flag)


@st.composite
def certainly_bad_manifests(draw):
    name = draw(st.sampled_from(SEEDS))
    docs = seed_docs(name)
    mutation = draw(st.sampled_from(BAD_MUTATIONS))
    return Example(name, docs, [mutation(draw, docs)])


# --- text level -----------------------------------------------------------------------------------

TEXT_SNIPPETS = ["\t", "\t\t", " ", "  ", "\n", "\r", "\r\n", ":", ": ", "- ", "-", "#", "'", '"', "[", "]", "{", "}",
                 ",", "&a ", "*a", "*b ", "<<: *a\n", "!!binary ", "!!set ", "!!omap ", "!!float ", "!!int ", "!!str ",
                 "!!timestamp ", "!!python/object:os.system ", "!custom ", "? ", "|", ">", "|-\n", "%YAML 1.1\n",
                 "---\n", "...\n", "--- |\n", "\ufeff", "\x00", "\x85", "\u2028", "0x" + "f" * 4000, "1" * 5000,
                 "!!int " + "9" * 5000, "!!float 1e", "1:" + "2" * 5000, "0o" + "7" * 6000, "0b" + "1" * 20000,
                 "[" * 3000, "{a: " * 2000, "- " * 2000, "a: &a [x]\nb: [*a, *a]\n", "$(", "$$", "💥"]
BAD_BYTES = [b"\xff", b"\xfe\xff", b"\xc3", b"\xe9", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\x80", b"\xc0\xaf"]


@st.composite
def mutated_texts(draw, max_edits: int = 4):
    """(seed name, bytes of a damaged YAML stream, list of edits)."""
    name = draw(st.sampled_from(SEEDS))
    text = seed_text(name)
    log = []
    for _ in range(draw(st.integers(1, max_edits))):
        op = draw(st.sampled_from(["delete", "insert", "snippet", "replace-line", "dup-line", "swap-lines",
                                   "indent", "truncate", "char-swap", "deep-value"]))
        at = draw(st.integers(0, len(text)))
        if op == "deep-value":  # flow nesting around pdcheck's limit (200) and libyaml's (1000)
            value_at = text.find(": ", at)
            if value_at != -1:
                depth = draw(st.sampled_from([50, 150, 190, 199, 201, 500, 990, 1001]))
                opener, closer = draw(st.sampled_from([("[", "]"), ("{a: ", "}"), ("[{a: ", "}]")]))
                value_at += 2
                end = text.find("\n", value_at)
                end = len(text) if end == -1 else end
                text = text[:value_at] + opener * depth + "1" + closer * depth + text[end:]
        elif op == "delete":
            text = text[:at] + text[at + draw(st.integers(1, 200)):]
        elif op == "insert":
            text = text[:at] + draw(st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=20)) + text[at:]
        elif op == "snippet":
            text = text[:at] + draw(st.sampled_from(TEXT_SNIPPETS)) + text[at:]
        else:
            lines = text.split("\n")
            i = draw(st.integers(0, len(lines) - 1))
            if op == "replace-line":
                lines[i] = draw(st.sampled_from(TEXT_SNIPPETS) | text_values())
            elif op == "dup-line":
                lines.insert(i, lines[i])
            elif op == "swap-lines":
                j = draw(st.integers(0, len(lines) - 1))
                lines[i], lines[j] = lines[j], lines[i]
            elif op == "indent":
                lines[i] = draw(st.sampled_from(["\t", " ", "   ", ""])) + lines[i].lstrip(" " if draw(st.booleans()) else "")
            elif op == "truncate":
                lines = lines[:i]
            elif op == "char-swap" and lines[i]:
                k = draw(st.integers(0, len(lines[i]) - 1))
                lines[i] = lines[i][:k] + draw(st.sampled_from(list(":-[]{}#&*!|>'\"%@`,?\t"))) + lines[i][k + 1:]
            text = "\n".join(lines)
        log.append(f"{op}@{at}")
    raw = text.encode("utf-8")
    if draw(st.integers(0, 5)) == 0:  # invalid UTF-8 somewhere
        at = draw(st.integers(0, len(raw)))
        raw = raw[:at] + draw(st.sampled_from(BAD_BYTES)) + raw[at:]
        log.append(f"bad-bytes@{at}")
    return Example(name, raw, log)


def _short(value, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


# --- exhaustive sweeps: every field of every seed, once per field shape ------------------------------

def field_shapes(want) -> list[tuple[str, tuple]]:
    """(seed, path) for each distinct (kind, path with list indexes as '*') whose value `want` accepts,
    across all seeds: every field a manifest of these kinds has, each once."""
    seen, out = set(), []
    for name in SEEDS:
        docs = seed_docs(name)
        for path in all_paths(docs):
            if not want(get(docs, path)):
                continue
            doc = docs[path[0]]
            shape = (doc.get("kind") if isinstance(doc, dict) else None,) + tuple("*" if isinstance(k, int) else k for k in path[1:])
            if shape not in seen:
                seen.add(shape)
                out.append((name, path))
    return out


def argv_flags() -> list[tuple[str, tuple, str]]:
    """(seed, path of the argv, flag) for each distinct flag that takes a value in a seed's argv."""
    seen, out = set(), []
    for name in SEEDS:
        docs = seed_docs(name)
        for path in all_paths(docs):
            argv = get(docs, path)
            if not _is_argv(path, argv):
                continue
            for i, token in enumerate(argv[:-1]):
                value = argv[i + 1]
                if (isinstance(token, str) and token.startswith("--") and token not in seen
                        and not (isinstance(value, str) and value.startswith("--"))):
                    seen.add(token)
                    out.append((name, path, token))
    return out
