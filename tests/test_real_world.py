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

Other projects' manifests (the document's corpus table, M1-M14) are not vendored: the document keeps
what pdcheck reports on each, and the tests below check that every row is judged and that the summary
counts are the table's. The idioms that decided their verdicts are reproduced by fixtures written here
(tests/fixtures/corpus/), checked on every run with a near miss each; with PDCHECK_CORPUS_DIR set to a
directory of local copies (named as the document says), the rows are checked against pdcheck's output.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from pdcheck.checker import Context, Options, check_render, enabled_rules, run
from pdcheck.config import Config
from pdcheck.objects import Render
from pdcheck.render import objects_from_stream
from reference_material import shared_path

REPO = Path(__file__).resolve().parents[1]
DOC = REPO / "docs" / "real-world.md"


def reference_stream(path: Path) -> str:
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
    ("envsubst-placeholder", E, LC + ".env[0].value"),  # HF_TOKEN: $HF_TOKEN
    ("envsubst-placeholder", E, WC + ".env[0].value"),
    ("engine-readiness-probe", E, LC + ".readinessProbe.tcpSocket"),
    ("image-unpinned", E, LC + ".image"),
    ("image-unpinned", E, WC + ".image"),
    ("shm-without-size-limit", E, LT + "volumes[0].emptyDir"),
    ("shm-without-size-limit", E, WT + "volumes[0].emptyDir"),
}

RUN_VERSIONS = {RUNS[0]: None, RUNS[1]: "0.4.10.post2", RUNS[2]: "0.5.6.post2"}


@pytest.fixture(scope="module")
def reference():
    return reference_stream(shared_path("seed", "000_3bc60c81eb28b8e5.txt"))


@pytest.mark.parametrize("run", RUNS)
def test_reference_findings(reference, run):
    got = findings(reference, "reference.yaml", RUN_VERSIONS[run])
    want = {k for k, runs in REFERENCE.items() if run in runs}
    assert got - want == set(), f"new findings on the reference ({run}): judge them in docs/real-world.md"
    assert want - got == set(), f"findings gone from the reference ({run}): update docs/real-world.md"


def test_doc_counts_are_what_pdcheck_reports(reference):
    """The totals the summary table of docs/real-world.md states, one per run, are what pdcheck reports."""
    stated = re.findall(r"^\| reference, \([abc]\)[^|]*\| (\d+) \|", DOC.read_text(encoding="utf-8"), re.M)
    reported = [len(findings(reference, "reference.yaml", RUN_VERSIONS[run])) for run in RUNS]
    assert [int(n) for n in stated] == reported


def test_lws_example_findings():
    example = shared_path("reference", "lws-example-sglang.yaml")
    got = findings(example.read_text(encoding="utf-8"), str(example))
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


# --- Other projects' manifests: the corpus table of the document ----------------------------------

_CORPUS_ROW = re.compile(r"^\|\s*(?P<manifest>M\d+)\s*\|\s*`(?P<rule>[a-z0-9-]+)`\s*\|\s*`(?P<object>[^`]+)`\s*\|"
                         r"\s*`(?P<path>[^`]+)`\s*\|\s*(?P<severity>error|warning|info)\s*\|\s*(?P<verdict>[^|]+?)\s*\|\s*$")
_SUMMARY_ROW = re.compile(r"^\|\s*(?P<manifest>M\d+)\s*\|(?P<cells>.*)\|\s*$")


def _corpus_section() -> list[str]:
    lines, inside = [], False
    for line in DOC.read_text(encoding="utf-8").splitlines():
        if line.startswith("## "):
            inside = "other projects" in line.lower()
        elif inside:
            lines.append(line)
    assert lines, "docs/real-world.md has no section on other projects' manifests"
    return lines


def corpus_rows() -> dict[str, list[dict]]:
    """Manifest id -> its finding rows (rule, object, path, severity, verdict) in the document."""
    rows: dict[str, list[dict]] = {}
    for line in _corpus_section():
        m = _CORPUS_ROW.match(line)
        if m:
            rows.setdefault(m["manifest"], []).append(m.groupdict())
    return rows


def corpus_summary() -> dict[str, list[str]]:
    """Manifest id -> the cells of its summary row (those that are not finding rows)."""
    summary = {}
    for line in _corpus_section():
        m = _SUMMARY_ROW.match(line)
        if m and not _CORPUS_ROW.match(line):
            summary[m["manifest"]] = [c.strip() for c in m["cells"].split("|")]
    return summary


def test_corpus_rows_are_judged():
    rows = [r for found in corpus_rows().values() for r in found]
    assert rows
    for r in rows:
        assert re.match(r"(TP\*?|FP)( \(C\d+\))?$", r["verdict"]), r


def test_corpus_summary_counts_are_the_tables():
    """Each manifest's summary row (... | local copy | findings | errors | warnings | TP | TP* | FP)
    counts its rows."""
    rows, summary = corpus_rows(), corpus_summary()
    assert set(rows) <= set(summary), "a manifest with findings has no summary row"
    for manifest, cells in summary.items():
        found = rows.get(manifest, [])
        verdict = [r["verdict"].split()[0] for r in found]
        expected = [len(found), sum(r["severity"] == "error" for r in found),
                    sum(r["severity"] == "warning" for r in found),
                    verdict.count("TP"), verdict.count("TP*"), verdict.count("FP")]
        assert [int(c) for c in cells[-6:]] == expected, manifest


CORPUS_DIR = os.environ.get("PDCHECK_CORPUS_DIR")


# Third-party files are not in the repository, so these run by hand (`pytest -m corpus` with
# PDCHECK_CORPUS_DIR set), never as skips in a normal run (tests/conftest.py leaves them out).
@pytest.mark.corpus
@pytest.mark.parametrize("manifest", sorted(corpus_summary(), key=lambda m: int(m[1:])))
def test_corpus_local_copy(manifest):
    """pdcheck's findings on the local copy of one manifest (the summary table's "local copy" column,
    relative to PDCHECK_CORPUS_DIR) are the document's rows for it."""
    assert CORPUS_DIR, "set PDCHECK_CORPUS_DIR to the directory of local copies of the corpus manifests"
    path = Path(CORPUS_DIR) / corpus_summary()[manifest][-7].strip("`")
    assert path.exists(), f"no local copy of {manifest}: {path} does not exist"
    got = {(f.rule, f.object, f.path_text, f.severity.name.lower())
           for f in run(Options(paths=[str(path)], no_cache=True)).findings}
    want = {(r["rule"], r["object"], r["path"], r["severity"]) for r in corpus_rows().get(manifest, [])}
    assert got == want


# --- The idioms of those manifests, reproduced by fixtures written here ---------------------------

def _fixture(name: str) -> list[dict]:
    from ruletest import baseline

    return baseline(f"corpus/{name}")


def _fired(docs: list[dict]) -> set[str]:
    from ruletest import rules_fired

    return rules_fired(docs)


def _container(docs: list[dict], index: int = 0) -> dict:
    return docs[0]["spec"]["template"]["spec"]["containers"][index]


def _replace_in_script(docs: list[dict], old: str, new: str) -> None:
    c = _container(docs)
    assert old in c["args"][0]
    c["args"][0] = c["args"][0].replace(old, new)


def test_statefulset_shell_hostnetwork_idiom():
    """M1: the rank-0 Service name cannot be resolved on the host network; the NodePort has no key."""
    assert _fired(_fixture("statefulset-shell-hostnetwork.yaml")) == {"hostnetwork-dns-policy", "exposed-without-auth"}


def _shell_hostnetwork_fixed() -> list[dict]:
    """The near miss: the DNS policy the host network needs, and the serving Service kept in the cluster."""
    docs = _fixture("statefulset-shell-hostnetwork.yaml")
    docs[0]["spec"]["template"]["spec"]["dnsPolicy"] = "ClusterFirstWithHostNet"
    docs[2]["spec"]["type"] = "ClusterIP"
    return docs


def test_statefulset_shell_hostnetwork_near_miss():
    assert _fired(_shell_hostnetwork_fixed()) == set()


@pytest.mark.parametrize("old, new, rule", [
    ("--tp-size 16", "--tp-size 8", "tp-gpu-mismatch"),  # the continued lines are read as flags
    ("--node-rank $POD_INDEX", "--node-rank 0", "node-rank-collision"),  # $POD_INDEX is the pod index
])
def test_statefulset_shell_script_is_understood(old, new, rule):
    docs = _shell_hostnetwork_fixed()
    _replace_in_script(docs, old, new)
    assert _fired(docs) == {rule}


def test_script_prologue_idiom():
    """M8/M9: here-document, loop, source, $(...) and echo before `sglang serve`: understood, clean."""
    assert _fired(_fixture("statefulset-script-prologue.yaml")) == set()


def test_script_prologue_launch_is_found():
    docs = _fixture("statefulset-script-prologue.yaml")
    _replace_in_script(docs, "--tp-size 16", "--tp-size 8")
    assert _fired(docs) == {"tp-gpu-mismatch"}


def test_vllm_deployment_idiom():
    """M12/M13: vLLM's 1 s /health probes, a liveness probe without startup probe and an init
    container that downloads into a hostPath: no SGLang rule applies, the download may write."""
    assert _fired(_fixture("vllm-deployment-probes.yaml")) == set()


def test_vllm_deployment_near_miss_with_sglang():
    """The same pod running SGLang: its /health generates, so the 1 s timeout and the missing startup
    probe are findings."""
    docs = _fixture("vllm-deployment-probes.yaml")
    c = _container(docs)
    c["image"] = "lmsysorg/sglang:v0.5.6.post2-cu129-amd64"
    c["command"] = ["python3", "-m", "sglang.launch_server", "--model-path", "/models/model",
                    "--host", "0.0.0.0", "--port", "8000"]
    assert _fired(docs) == {"health-probe-timeout", "liveness-without-startup"}


def test_sglang_named_mock_idiom():
    """M14: "sglang" in the image and labels, but its own script: not an engine."""
    assert _fired(_fixture("sglang-named-mock.yaml")) == set()


def test_sglang_named_mock_near_miss():
    docs = _fixture("sglang-named-mock.yaml")
    _container(docs)["command"] = ["python3", "-m", "sglang.launch_server", "--model-path", "m", "--port", "30000"]
    assert _fired(docs) == {"engine-readiness-probe"}
