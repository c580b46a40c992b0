"""Property-based robustness: damaged real manifests never crash, hang or confuse pdcheck.

Every example starts from a real manifest (tests/fixtures/baseline.yaml or a tests/golden render)
and damages it (see strategies.py). Properties:
- nothing but InputError escapes reading + check_render, and no rule crashes (a crashing rule
  becomes a `pdcheck-internal-error` finding, which counts as a failure here);
- no example hangs: hypothesis' per-example deadline, plus a hard alarm that turns a real hang
  (size 10**9 modelled rank by rank, ...) into a failure instead of a stuck CI job;
- certainly-bad input gets findings (or an InputError): never a silent pass;
- the CLI exits 0/1/2 without a traceback.

Random search misses what needs one exact field and one exact value (a 400-digit flag value, a
`roleRef` that is a string), so three deterministic sweeps (marked slow too, about 10 s) also try
every field the seeds have, once per (kind, field): mappings as a string or list, numbers huge or of
the wrong type, every flag's value as a 400-digit number.

The small, derandomized runs (reproducible in CI, < 30 s) are marked slow: `pytest --slow` and CI
run them, the quick default run leaves them out. The exploratory runs
(`pytest -m exploratory tests/test_robustness.py`, by hand) explore >= 10,000 random examples.
"""

from __future__ import annotations

import functools
import itertools
import json
import os
import signal
import subprocess
import sys
import tempfile
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import pytest
import yaml
from hypothesis import event, given, note, settings
from hypothesis import strategies as st

from pdcheck.checker import INTERNAL_ERROR_RULE, Context, Options, check_render
from pdcheck.config import Config
from pdcheck.errors import InputError
from pdcheck.findings import Severity
from pdcheck.objects import Render
from pdcheck.render import objects_from_stream
from pdcheck.rules import all_rules
from pdcheck.yamlio import decode
from strategies import (
    SEEDS, WRONG_FOR_MAPPING, WRONG_FOR_NUMBER, argv_flags, certainly_bad_manifests, field_shapes, get,
    mutated_manifests, mutated_texts, put, seed_docs,
)

REPO = Path(__file__).resolve().parents[1]

# Reproducible in CI: derandomized, no example database written into the tree. A per-example
# deadline far above the ~50-100 ms an example takes on a slow runner: only blow-ups trip it.
NORMAL = settings(derandomize=True, database=None, deadline=timedelta(seconds=5), print_blob=True)
# The long run explores (random seed; a failure prints the blob to reproduce it).
LONG = settings(derandomize=False, database=None, deadline=timedelta(seconds=5), print_blob=True)
HANG_S = 30  # hard limit per example: hypothesis' deadline only judges examples that finish
# One example in ten is checked from a real file, so findings are placed by line (ruamel.yaml parses
# the file again: ~0.2 s, too slow for every example).
ON_DISK = st.integers(0, 9).map(lambda n: n == 0)


class Hang(BaseException):
    """BaseException: check_render's `except Exception` must not turn it into a finding, and hypothesis
    stops at once instead of shrinking by re-running hanging examples (the message names the example)."""


@contextmanager
def hard_limit(seconds: float = HANG_S, what: str = ""):
    def fire(signum, frame):
        raise Hang(f"still running after {seconds} s: {what}")

    previous = signal.signal(signal.SIGALRM, fire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


# Every rule, including any that are off by default: a crash in an opt-in rule is still a crash.
RULES = [(r, r.severity or Severity.INFO) for r in all_rules()]
OPTIONS = Options(paths=[])
@functools.lru_cache(maxsize=None)
def _schema():
    return Context(Config(), None, []).schema  # compiled once; each example gets a fresh Context


def _context() -> Context:
    # Fresh per example: the context's schema-issue cache keeps every object it has seen alive.
    return Context(Config(), None, [], _schema=_schema())


_DISK = tempfile.TemporaryDirectory(prefix="pdcheck-robust-")
_written = itertools.count()


def check_text(text: str, name: str = "mutated.yaml", on_disk: bool = False):
    """What `pdcheck validate file` does after reading: parse, model, run every rule.

    on_disk: write the text to a real file first, so findings are placed in it by line (sources.locate
    parses it again with ruamel.yaml, which has crashes of its own to avoid). Each example gets a new
    file name: locate caches parsed files by path.
    """
    if on_disk:
        name = str(Path(_DISK.name, f"m{next(_written)}.yaml"))
        Path(name).write_text(text, encoding="utf-8")
    try:
        objects, non_objects = objects_from_stream(text, name, None)
        if not objects and not non_objects:
            raise InputError(name, "contains no Kubernetes objects")
        findings, _ = check_render(Render(name, "file", objects, non_objects), _context(), OPTIONS, RULES)
    finally:
        if on_disk:
            Path(name).unlink()
    return findings


def dump(docs: list) -> str:
    return yaml.safe_dump_all(docs, sort_keys=False, allow_unicode=True)


def assert_no_crash(findings) -> None:
    crashed = [f.message for f in findings if f.rule == INTERNAL_ERROR_RULE]
    assert not crashed, crashed


@pytest.fixture(scope="module", autouse=True)
def _warm():
    """Compile the schemas and load the catalogs the seeds need outside any example's deadline."""
    for name in SEEDS:
        assert_no_crash(check_text(dump(seed_docs(name)), name))


# --- properties --------------------------------------------------------------------------------------

def manifest_property(example, on_disk: bool) -> None:
    name, docs, log = example
    note(f"seed {name}: {log}")
    text = dump(docs)
    with hard_limit(what=f"seed {name}: {log}"):
        try:
            findings = check_text(text, on_disk=on_disk)
        except InputError as exc:
            event("InputError")
            assert str(exc)
            return
    assert_no_crash(findings)
    event("findings" if findings else "clean")


def text_property(example) -> None:
    name, raw, log = example
    note(f"seed {name}: {log}")
    with hard_limit(what=f"seed {name}: {log}"):
        try:
            findings = check_text(decode(raw, "mutated.yaml"), on_disk=True)
        except InputError as exc:
            event("InputError")
            assert exc.file and str(exc).startswith(exc.file + ": "), exc
            return
    assert_no_crash(findings)
    event("findings" if findings else "clean")


def bad_property(example) -> None:
    name, docs, log = example
    note(f"seed {name}: {log}")
    with hard_limit(what=f"seed {name}: {log}"):
        try:
            findings = check_text(dump(docs))
        except InputError:
            return
    assert_no_crash(findings)
    assert findings, f"certainly-bad input passed clean: {log}"


@pytest.mark.slow
@settings(NORMAL, max_examples=70)
@given(mutated_manifests(), ON_DISK)
def test_mutated_manifests(example, on_disk):
    manifest_property(example, on_disk)


@pytest.mark.slow
@settings(NORMAL, max_examples=50)
@given(mutated_texts())
def test_mutated_yaml_text(example):
    text_property(example)


@pytest.mark.slow
@settings(NORMAL, max_examples=25)
@given(certainly_bad_manifests())
def test_certainly_bad_input_gets_findings(example):
    bad_property(example)


@pytest.mark.exploratory
@settings(LONG, max_examples=5000)
@given(mutated_manifests(max_mutations=6), ON_DISK)
def test_mutated_manifests_long(example, on_disk):
    manifest_property(example, on_disk)


@pytest.mark.exploratory
@settings(LONG, max_examples=5000)
@given(mutated_texts(max_edits=6))
def test_mutated_yaml_text_long(example):
    text_property(example)


@pytest.mark.exploratory
@settings(LONG, max_examples=800)
@given(certainly_bad_manifests())
def test_certainly_bad_input_gets_findings_long(example):
    bad_property(example)


# --- exhaustive sweeps: every field, not only the ones a random search happens to reach ------------

def check_docs(docs: list, name: str = "swept"):
    """check_text without the YAML round trip (~4x faster): the values are ones YAML can carry."""
    from pdcheck.objects import K8sObject, Origin

    objects = [K8sObject(d, i, Origin()) for i, d in enumerate(docs) if isinstance(d, dict)]
    findings, _ = check_render(Render(name, "file", objects, []), _context(), OPTIONS, RULES)
    return findings


def _sweep(cases) -> None:
    crashed = []
    for seed, path, value in cases:
        docs = seed_docs(seed)
        put(docs, path, value)
        with hard_limit(what=f"seed {seed}: {path} = {value!r:.60}"):
            findings = check_docs(docs)
        crashed += [(seed, path, f"{value!r:.40}", f.message) for f in findings if f.rule == INTERNAL_ERROR_RULE]
    assert not crashed, crashed[:5]


@pytest.mark.slow
def test_every_mapping_field_wrongly_typed():
    """Each mapping field of every kind the seeds have, as a string, a list, a huge integer...
    (found: router-sd-rbac on `roleRef: x`)."""
    _sweep((seed, path, value) for seed, path in field_shapes(lambda v: isinstance(v, dict))
           for value in WRONG_FOR_MAPPING[:3:2])  # "x" and ["x"]; the random search tries the rest


@pytest.mark.slow
def test_every_number_field_huge_or_wrongly_typed():
    numbers = field_shapes(lambda v: isinstance(v, (int, float)) and not isinstance(v, bool))
    _sweep((seed, path, value) for seed, path in numbers for value in WRONG_FOR_NUMBER[:4])


@pytest.mark.slow
def test_every_flag_value_huge():
    """Each flag's value in every argv as a 400-digit number: past a float, within int()'s limit
    (found: ep-experts-indivisible, OverflowError in a true division)."""
    _sweep((seed, path + (get(seed_docs(seed), path).index(flag) + 1,), sign + "9" * 400)
           for seed, path, flag in argv_flags() for sign in ("", "-"))


# --- regressions found by the properties (kept explicit so they run without hypothesis' search) ---

@pytest.mark.parametrize("text", [
    "a: " + "1" * 5000,  # over CPython's int-from-text digit limit
    "a: !!int " + "9" * 5000,
    "a: 0x" + "f" * 5000,  # parses (no limit for hex), but str() of it raises later
    "a: 0b" + "1" * 20000,
    "a: !!int x",
    "a: !!float x",
    "a: !!int ''",
    "a: !!bool maybe",
    "a: !!timestamp x",
    "a: !!set [x]",
    "a: !!map x",
    "a: " + "[" * 300 + "]" * 300,  # under libyaml's 1000 levels, but deep enough for RecursionError in repr()
])
def test_unconstructible_values_are_input_errors(text):
    for doc in (text, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata:\n  " + text.replace("\n", "\n  ")):
        with hard_limit(), pytest.raises(InputError, match=r"^mutated\.yaml: (invalid YAML|YAML nested too deeply)"):
            check_text(doc)


def _container(docs, name="r1-prefill"):
    obj = next(d for d in docs if d["metadata"]["name"] == name and d["kind"] in ("LeaderWorkerSet", "Deployment"))
    spec = obj["spec"]["leaderWorkerTemplate"]["workerTemplate"] if obj["kind"] == "LeaderWorkerSet" else obj["spec"]["template"]
    return obj, spec, spec["spec"]["containers"][0]


def _set(path, value):
    def mutate(docs):
        obj, template, container = _container(docs)
        target = {"obj": obj, "template": template, "pod": template["spec"], "container": container}[path[0]]
        for key in path[1:-1]:
            target = target[key]
        target[path[-1]] = value
    return mutate


def _huge_percentage(docs):
    """maxSurge 100% of 10**400 replicas: float overflow in the rollout rule."""
    obj, _, _ = _container(docs)
    obj["spec"]["replicas"] = 10**400
    obj["spec"]["rolloutStrategy"]["rollingUpdateConfiguration"]["maxSurge"] = "100%"


def _config_map_key_list(docs):
    """configMapKeyRef.key a list, of a ConfigMap in the render: unhashable in the model's lookup."""
    _, _, container = _container(docs)
    docs.append({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"k": "v"}})
    container["env"] = [{"name": "X", "valueFrom": {"configMapKeyRef": {"name": "c", "key": [1]}}}]


def _unprivileged_int_resource(docs):
    """An int resource name (`7: 1` in limits) reaches the RDMA rules once the engine is unprivileged."""
    _, _, container = _container(docs)
    container["securityContext"]["privileged"] = False
    container["resources"]["limits"][7] = 1


def _service_account_list(docs):
    """fieldRef spec.serviceAccountName of a list-valued serviceAccountName, expanded into argv."""
    _, template, container = _container(docs)
    template["spec"]["serviceAccountName"] = ["x"]
    container["env"].append({"name": "SA", "valueFrom": {"fieldRef": {"fieldPath": "spec.serviceAccountName"}}})
    container["args"] += ["--served-model-name", "$(SA)"]


# Inputs that crashed pdcheck (a rule, the model or the schema validator) before the fixes.
@pytest.mark.parametrize("mutate", [
    _set(("obj", "metadata", None), None),  # null key: schema messages ran difflib/re on it
    _set(("obj", "metadata", 1), "x"),  # int key
    _set(("obj", "metadata", True), "x"),  # bool key
    _set(("template", "metadata", "labels"), ["a", "b"]),  # dict() of a list in the model
    _set(("template", "metadata", "annotations"), 5),
    _set(("pod", "volumes", 0, "name"), [1]),  # unhashable volume name (hostpath, shm, rdma rules)
    _set(("container", "volumeMounts", 0, "name"), {"a": 1}),
    _set(("container", "env"), [{"name": "X", "valueFrom": {"configMapKeyRef": {"name": [1], "key": "k"}}}]),
    _config_map_key_list,
    _set(("container", "image"), "lmsysorg/sglang:v0.5." + "9" * 5000),  # int() past 4300 digits in version_key
    _unprivileged_int_resource,
    _service_account_list,
    _set(("obj", "kind"), "../../../../x"),  # hardening, no crash seen: kind is part of a schema file name
    _set(("obj", "kind"), "K" * 5000),  # file name too long (OSError)
    _huge_percentage,
], ids=lambda f: repr(f.__closure__[0].cell_contents)[:60] if f.__closure__ else f.__name__)
def test_found_crashes(mutate):
    docs = seed_docs("baseline")
    mutate(docs)
    with hard_limit(10):
        assert_no_crash(check_text(dump(docs), on_disk=True))


def _lws(docs):
    return next(d for d in docs if d["kind"] == "LeaderWorkerSet")


@pytest.mark.parametrize("field, value", [
    ("size", 10**9), ("size", 2**63), ("size", -(10**9)), ("size", "1000000000"),
    ("replicas", 10**9), ("replicas", 10**30), ("replicas", -5),
])
def test_huge_lws_numbers_are_not_enumerated(field, value):
    docs = seed_docs("baseline")
    lws = _lws(docs)
    lws["spec"]["networkConfig"] = {"subdomainPolicy": "UniquePerReplica"}
    if field == "size":
        lws["spec"]["leaderWorkerTemplate"]["size"] = value
    else:
        lws["spec"]["replicas"] = value
    with hard_limit(10):
        assert_no_crash(check_text(dump(docs)))


def test_huge_tp_is_not_factored():
    """tp-dp-indivisible lists the valid divisors of tp: by trial division, so not for a tp of 10**9."""
    docs = seed_docs("baseline")
    args = _lws(docs)["spec"]["leaderWorkerTemplate"]["workerTemplate"]["spec"]["containers"][0]["args"]
    args[args.index("--tp-size") + 1] = str(10**9 + 1)
    with hard_limit(10):
        findings = check_text(dump(docs))
    assert_no_crash(findings)
    assert "tp-dp-indivisible" in {f.rule for f in findings}


@pytest.mark.parametrize("service, replicas, collides", [
    ("r1-prefill-7", 10**9, True), ("r1-prefill-999999999", 10**9, True), ("r1-prefill-1000000000", 10**9, False),
    ("r1-prefill-07", 10**9, False), ("r1-prefill-" + "1" * 5000, 10**30, False), ("r1-prefill-2", 2, False),
])
def test_per_replica_service_names_with_huge_replicas(service, replicas, collides):
    """With subdomainPolicy UniquePerReplica LWS creates <lws>-<i> for every replica: matched, not enumerated."""
    docs = seed_docs("baseline")
    lws = _lws(docs)
    lws["spec"]["replicas"] = replicas
    lws["spec"]["networkConfig"] = {"subdomainPolicy": "UniquePerReplica"}
    docs.append({"apiVersion": "v1", "kind": "Service", "metadata": {"name": service},
                 "spec": {"ports": [{"port": 80}]}})
    with hard_limit(10):
        findings = check_text(dump(docs))
    assert_no_crash(findings)
    assert ("lws-service-name-collision" in {f.rule for f in findings}) == collides


# --- the CLI ------------------------------------------------------------------------------------

def cli_property(example, output_format: str) -> None:
    name, docs, log = example
    note(f"seed {name}: {log}")
    with tempfile.TemporaryDirectory(prefix="pdcheck-robust-") as tmp:
        path = Path(tmp, "mutated.yaml")
        path.write_text(dump(docs), encoding="utf-8")
        env = {**os.environ, "NO_COLOR": "1", "PYTHONPATH": str(REPO / "tools") + os.pathsep + os.environ.get("PYTHONPATH", "")}
        proc = subprocess.run(
            [sys.executable, "-m", "pdcheck", "validate", "--quiet", "--no-cache", "--format", output_format, str(path)],
            capture_output=True, text=True, timeout=HANG_S * 2, env=env, cwd=tmp, stdin=subprocess.DEVNULL,
        )
    output = proc.stdout + proc.stderr
    assert "Traceback" not in output, output[-3000:]
    assert proc.returncode in (0, 1, 2), output[-3000:]
    assert INTERNAL_ERROR_RULE not in output, output[-3000:]
    if proc.returncode == 2:
        assert proc.stderr.startswith("pdcheck: error: ") and proc.stdout == "", output[-3000:]
    elif output_format in ("json", "sarif"):
        json.loads(proc.stdout)


@pytest.mark.slow
@settings(NORMAL, max_examples=4, deadline=None)  # a subprocess: interpreter start-up dominates
@given(mutated_manifests(), st.sampled_from(["text", "json", "sarif", "github"]))
def test_cli_never_tracebacks(example, output_format):
    cli_property(example, output_format)


@pytest.mark.exploratory
@settings(LONG, max_examples=40, deadline=None)
@given(mutated_manifests(max_mutations=6), st.sampled_from(["text", "json", "sarif", "github"]))
def test_cli_never_tracebacks_long(example, output_format):
    cli_property(example, output_format)
