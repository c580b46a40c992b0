"""pdcheck on two real-world inputs, finding by finding, as docs/real-world.md reports and judges them.

Inputs (in ../shared, skipped when absent):
- the reference PD deployment exactly as published: the ```yaml blocks of
  ../shared/seed/000_3bc60c81eb28b8e5.txt as one multi-document stream, checked three ways: with the
  catalog pdcheck guesses for its version-less `lmsysorg/sglang:deepep` tag (the newest, 0.5.23),
  with `--sglang-version 0.4.10.post2` (the oldest release that accepts every flag it uses) and with
  `--sglang-version 0.5.6.post2` (the release the bundle pins);
- the upstream LWS SGLang example, ../shared/reference/lws-example-sglang.yaml.

The set of (rule, object, path) findings of every run must equal the table below, and the table must
equal the finding tables of docs/real-world.md: a rule change that adds, drops or moves a finding on
these inputs fails here until the document (and its verdict) is updated.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pdcheck.checker import Context, Options, check_render, enabled_rules
from pdcheck.config import Config
from pdcheck.objects import Render
from pdcheck.render import objects_from_stream

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
SEED = SHARED / "seed" / "000_3bc60c81eb28b8e5.txt"
LWS_EXAMPLE = SHARED / "reference" / "lws-example-sglang.yaml"
DOC = REPO / "docs" / "real-world.md"


def reference_stream(path: Path = SEED) -> str:
    """The ```yaml blocks of the seed document, in order, as one multi-document YAML stream."""
    blocks = re.findall(r"^```yaml\n(.*?)^```", path.read_text(encoding="utf-8"), re.S | re.M)
    assert len(blocks) == 5, f"expected the 5 published manifests (p, d, p-svc, d-svc, lb), got {len(blocks)}"
    return "---\n".join(b if b.endswith("\n") else b + "\n" for b in blocks)


_CONTEXT = Context(Config(), None, [])  # what `pdcheck validate FILE` uses when no .pdcheck.yaml is found


def findings(text: str, name: str, sglang_version: str | None = None) -> set[tuple[str, str, str]]:
    """(rule, object, path) of what `pdcheck validate [--sglang-version V] FILE` reports for this text."""
    objects, non_objects = objects_from_stream(text, name, None)
    render = Render(name, "file", objects, non_objects)
    options = Options(paths=[name], sglang_version=sglang_version)
    found, _ = check_render(render, _CONTEXT, options, enabled_rules(_CONTEXT.config))
    return {(f.rule, f.object, f.path_text) for f in found}


# --- The expected findings (mirrored, row by row, in docs/real-world.md) --------------------------

P = "LeaderWorkerSet/deepseekr10528-prefill-main"
D = "LeaderWorkerSet/deepseekr10528-decode-main"
LB = "Deployment/deepseekr10528-lb-main"
LT = "spec.leaderWorkerTemplate.leaderTemplate.spec."
WT = "spec.leaderWorkerTemplate.workerTemplate.spec."
LC = LT + "containers[0]"
WC = WT + "containers[0]"
RC = "spec.template.spec.containers[0]"

# Runs of the reference: the guessed newest catalog, and the two pinned ones.
RUNS = ("0.5.23 (guessed)", "0.4.10.post2", "0.5.6.post2")
ALL, NEWEST, OLD, V0410, V056 = set(RUNS), {RUNS[0]}, {RUNS[1], RUNS[2]}, {RUNS[1]}, {RUNS[2]}

# (rule, object, path) -> the runs that report it
REFERENCE = {
    # flags (0.5.23 only: the guessed catalog)
    ("flag-deprecated", P, LC + ".command[22]"): NEWEST,
    ("flag-deprecated", P, WC + ".command[18]"): NEWEST,
    ("flag-deprecated", D, LC + ".command[13]"): NEWEST,
    ("flag-deprecated", D, WC + ".command[9]"): NEWEST,
    ("flag-ambiguous", D, LC + ".command[27]"): NEWEST,
    ("flag-ambiguous", D, WC + ".command[23]"): NEWEST,
    # env
    ("unread-sglang-env", P, WC + ".env[1].name"): ALL,  # SGLANG_HACK_DEEPEP_NUM_SMS
    ("unread-sglang-env", P, WC + ".env[2].name"): ALL,  # SGLANG_HACK_DEEPEP_NEW_MODE
    ("unread-sglang-env", P, WC + ".env[8].name"): ALL,  # SGLANG_MOONCAKE_TRANS_THREAD
    ("unread-sglang-env", D, LC + ".env[10].name"): ALL,  # SGLANG_MOONCAKE_TRANS_THREAD
    ("unread-sglang-env", D, WC + ".env[0].name"): ALL,  # SGLANG_HACK_DEEPEP_NUM_SMS
    ("unread-sglang-env", D, WC + ".env[1].name"): ALL,  # SGLANG_HACK_DEEPEP_NEW_MODE
    ("unread-sglang-env", D, WC + ".env[12].name"): ALL,  # SGLANG_MOONCAKE_TRANS_THREAD
    ("unread-sglang-env", P, LC + ".env[3].name"): V0410,  # SGLANG_ENABLE_JIT_DEEPGEMM (0.4.10 reads SGL_)
    ("unread-sglang-env", P, WC + ".env[9].name"): V0410,
    ("unread-sglang-env", D, LC + ".env[11].name"): V0410,
    ("unread-sglang-env", D, WC + ".env[13].name"): V0410,
    ("deprecated-sgl-env", P, WC + ".env[10].name"): NEWEST,  # SGL_CHUNKED_PREFIX_CACHE_THRESHOLD
    ("env-drift", P, LC + ".env"): ALL,
    ("env-drift", D, LC + ".env"): ALL,
    # parallelism / pairing
    ("cuda-graph-max-bs-below-running", D, LC + ".command[27]"): OLD,
    ("cuda-graph-max-bs-below-running", D, WC + ".command[23]"): OLD,
    ("pd-dp-round-robin", D, LC + ".command[15]"): V056,
    # pods
    ("engine-readiness-probe", P, LC + ".readinessProbe.tcpSocket"): ALL,
    ("engine-readiness-probe", D, LC + ".readinessProbe.tcpSocket"): ALL,
    # router
    ("lws-service-name-collision", "Service/deepseekr10528-prefill-main", "metadata.name"): ALL,
    ("lws-service-name-collision", "Service/deepseekr10528-decode-main", "metadata.name"): ALL,
    ("router-bootstrap-port", LB, RC + ".command[5]"): ALL,
    # security
    ("privileged-without-reason", P, LC + ".securityContext.privileged"): ALL,
    ("privileged-without-reason", P, WC + ".securityContext.privileged"): ALL,
    ("privileged-without-reason", D, LC + ".securityContext.privileged"): ALL,
    ("privileged-without-reason", D, WC + ".securityContext.privileged"): ALL,
    ("hostpath-writable", P, LC + ".volumeMounts[1]"): ALL,  # model
    ("hostpath-writable", P, LC + ".volumeMounts[3]"): ALL,  # fused_moe_triton configs
    ("hostpath-writable", P, WC + ".volumeMounts[2]"): ALL,
    ("hostpath-writable", P, WC + ".volumeMounts[4]"): ALL,
    ("hostpath-writable", D, LC + ".volumeMounts[2]"): ALL,
    ("hostpath-writable", D, LC + ".volumeMounts[4]"): ALL,
    ("hostpath-writable", D, WC + ".volumeMounts[2]"): ALL,
    ("hostpath-writable", D, WC + ".volumeMounts[4]"): ALL,
    ("exposed-without-auth", "Service/deepseekr10528-lb-service", "spec.type"): ALL,
    ("router-single-replica", LB, "spec.replicas"): ALL,
    ("router-no-pdb", LB, "metadata.name"): ALL,
    ("router-probes-missing", LB, RC): ALL,
    ("router-probe-endpoints", LB, RC): ALL,  # no startupProbe: nothing restarts it (issue #13)
    ("router-resources-missing", LB, RC + ".resources"): ALL,
    ("image-unpinned", P, LC + ".image"): ALL,
    ("image-unpinned", P, WC + ".image"): ALL,
    ("image-unpinned", D, LC + ".image"): ALL,
    ("image-unpinned", D, WC + ".image"): ALL,
    ("image-unpinned", LB, RC + ".image"): ALL,
    ("shm-without-size-limit", P, LT + "volumes[0].emptyDir"): ALL,
    ("shm-without-size-limit", P, WT + "volumes[0].emptyDir"): ALL,
    ("shm-without-size-limit", D, LT + "volumes[1].emptyDir"): ALL,
    ("shm-without-size-limit", D, WT + "volumes[1].emptyDir"): ALL,
    # network: every rank binds 30000 on the host network (workers: SGLang's default --port)
    ("hostnetwork-port-in-nodeport-range", P, LC + ".command[3]"): ALL,
    ("hostnetwork-port-in-nodeport-range", P, WC + ".command"): ALL,
    ("hostnetwork-port-in-nodeport-range", D, LC + ".command[3]"): ALL,
    ("hostnetwork-port-in-nodeport-range", D, WC + ".command"): ALL,
}

E = "LeaderWorkerSet/sglang"
LWS_EXAMPLE_FINDINGS = {
    ("shell-style-variable", E, LC + ".env[0].value"),  # HF_TOKEN: $HF_TOKEN
    ("shell-style-variable", E, WC + ".env[0].value"),
    ("engine-readiness-probe", E, LC + ".readinessProbe.tcpSocket"),
    ("image-unpinned", E, LC + ".image"),
    ("image-unpinned", E, WC + ".image"),
    ("shm-without-size-limit", E, LT + "volumes[0].emptyDir"),
    ("shm-without-size-limit", E, WT + "volumes[0].emptyDir"),
}

RUN_VERSIONS = {RUNS[0]: None, RUNS[1]: "0.4.10.post2", RUNS[2]: "0.5.6.post2"}


@pytest.fixture(scope="module")
def reference():
    if not SEED.is_file():
        pytest.skip("../shared/seed is not present")
    return reference_stream()


@pytest.mark.parametrize("run", RUNS)
def test_reference_findings(reference, run):
    got = findings(reference, "reference.yaml", RUN_VERSIONS[run])
    want = {k for k, runs in REFERENCE.items() if run in runs}
    assert got - want == set(), f"new findings on the reference ({run}): judge them in docs/real-world.md"
    assert want - got == set(), f"findings gone from the reference ({run}): update docs/real-world.md"


def test_reference_counts(reference):
    """The counts docs/real-world.md states (52 / 51 / 48)."""
    assert [sum(run in runs for runs in REFERENCE.values()) for run in RUNS] == [52, 51, 48]


def test_lws_example_findings():
    if not LWS_EXAMPLE.is_file():
        pytest.skip("../shared/reference is not present")
    got = findings(LWS_EXAMPLE.read_text(encoding="utf-8"), str(LWS_EXAMPLE))
    assert got == LWS_EXAMPLE_FINDINGS


# --- The document mirrors the tables --------------------------------------------------------------

_ROW = re.compile(r"^\|\s*`(?P<rule>[a-z0-9-]+)`\s*\|\s*`(?P<object>[^`]+)`\s*\|\s*`(?P<path>[^`]+)`\s*\|(?P<rest>.*)\|\s*$")


def _doc_tables() -> tuple[dict, set]:
    """The reference table (rows with three run columns) and the LWS example table of the document."""
    reference, example, section = {}, set(), None
    for line in DOC.read_text(encoding="utf-8").splitlines():
        if line.startswith("#"):
            section = line
        m = _ROW.match(line)
        if not m:
            continue
        key = (m["rule"], m["object"], m["path"])
        cells = [c.strip() for c in m["rest"].split("|")]
        if "reference deployment" in (section or "").lower():
            assert key not in reference, f"duplicate row {key}"
            reference[key] = {run for run, cell in zip(RUNS, cells[:3]) if cell == "x"}
        elif "lws example" in (section or "").lower():
            example.add(key)
    return reference, example


def test_doc_mirrors_the_tables():
    reference, example = _doc_tables()
    assert reference == REFERENCE
    assert example == LWS_EXAMPLE_FINDINGS


def test_doc_judges_every_row():
    """Every finding row carries a verdict (TP or FP) in its last column."""
    rows = [line for line in DOC.read_text(encoding="utf-8").splitlines() if _ROW.match(line)]
    assert rows
    for line in rows:
        verdict = line.rstrip().rstrip("|").rsplit("|", 1)[1].strip()
        assert re.match(r"(TP|FP)\b", verdict), line
