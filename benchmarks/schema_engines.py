"""Schema engines compared: pdcheck.schema, plain jsonschema, kubernetes_validate and jsonschema-rs.

Run by hand (jsonschema-rs is not a pdcheck dependency; `pip install jsonschema-rs` to include it):

    PYTHONPATH=tools .venv/bin/python benchmarks/schema_engines.py [--docs 1000] [--runs 5]

Corpus: the documents of the shipped overlays (rendered with the bundled kubectl), cycled to --docs;
every document is checked against Kubernetes 1.26 and the newest bundled version, as `pdcheck
validate` does. Two measurements:

- throughput: validators compiled once, then every document validated (docs/s, median of --runs);
- one run's worth: what `pdcheck validate overlays/` pays, a fresh validator (compile included,
  definitions already parsed) for the shipped overlays' documents once (ms, median of --runs).

It also prints the error paths each engine reports for one broken LeaderWorkerSet.
"""

from __future__ import annotations

import argparse
import copy
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def overlay_documents() -> list[dict]:
    from pdcheck.discover import resolve_inputs
    from pdcheck.render import render_all

    return [o.doc for r in render_all(resolve_inputs([str(REPO / "overlays")])) for o in r.objects]


def median_of(runs: int, fn) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    from pdcheck.schema import SchemaValidator, bundle, bundled_k8s_versions

    versions = ["1.26", bundled_k8s_versions()[-1]]
    shipped = overlay_documents()
    docs = [copy.deepcopy(shipped[i % len(shipped)]) for i in range(args.docs)]
    kinds: dict[str, int] = {}
    for d in docs:
        kinds[d["kind"]] = kinds.get(d["kind"], 0) + 1
    print(f"corpus: {len(docs)} documents from {len(shipped)} in the shipped overlays {kinds}; versions {versions}")
    for v in versions:
        bundle.load_definitions(v)  # parsed once, outside every timing (all engines share the same JSON)

    rows: list[tuple[str, float | None, float | None]] = []  # (engine, docs/s, ms for one run's worth)

    def pdcheck_fresh():
        validator = SchemaValidator(versions)
        for d in shipped:
            validator.validate(d)

    compiled = SchemaValidator(versions)
    for d in docs:
        compiled.validate(d)
    rows.append(("pdcheck.schema (fast check, jsonschema on failure)",
                 len(docs) / median_of(args.runs, lambda: [compiled.validate(d) for d in docs]),
                 1000 * median_of(args.runs, pdcheck_fresh)))

    def jsonschema_only(subset):
        for d in subset:
            for v in versions:
                entry = compiled._validator(v, d["apiVersion"], d["kind"])
                if entry is not None:
                    list(entry.jsonschema_validator.iter_errors(d))
    sample = docs[: max(50, len(docs) // 10)]
    rows.append(("jsonschema iter_errors (same schemas)", len(sample) / median_of(args.runs, lambda: jsonschema_only(sample)), None))

    import kubernetes_validate

    core = [d for d in docs if d["kind"] != "LeaderWorkerSet"][:100]

    def kv():
        for d in core:
            for v in versions:
                try:
                    kubernetes_validate.validate(d, v, strict=True)
                except kubernetes_validate.ValidationError:
                    pass
    rows.append(("kubernetes_validate.validate (non-LWS documents)", len(core) / median_of(min(args.runs, 3), kv), None))

    try:
        import jsonschema_rs
    except ImportError:
        jsonschema_rs = None
        print("jsonschema-rs is not installed: skipped (pip install jsonschema-rs)")
    if jsonschema_rs is not None:
        def rs_validators(subset) -> dict:
            out = {}
            for v in versions:
                registry = jsonschema_rs.Registry([(bundle.DEFINITIONS_URI, bundle.load_definitions(v))])
                for d in subset:
                    key = (v, d["apiVersion"], d["kind"])
                    if key not in out:
                        out[key] = jsonschema_rs.Draft202012Validator(compiled._find_schema(*key), registry=registry)
            return out

        rs = rs_validators(docs)

        def rs_fresh():
            fresh = rs_validators(shipped)
            for d in shipped:
                for v in versions:
                    list(fresh[(v, d["apiVersion"], d["kind"])].iter_errors(d))
        rows.append(("jsonschema-rs iter_errors",
                     len(docs) / median_of(args.runs, lambda: [list(rs[(v, d["apiVersion"], d["kind"])].iter_errors(d))
                                                               for d in docs for v in versions]),
                     1000 * median_of(args.runs, rs_fresh)))

    print()
    print("| engine | docs/s (compiled once) | ms for the shipped overlays, compile included |")
    print("|---|---|---|")
    for name, rate, ms in rows:
        print(f"| {name} | {rate:,.0f} | {f'{ms:.1f}' if ms is not None else '-'} |")

    broken = copy.deepcopy(next(d for d in docs if d["kind"] == "LeaderWorkerSet"))
    broken["spec"]["leaderWorkerTemplate"]["workerTemplate"]["spec"]["containers"][0]["imagePullPolicyy"] = "x"
    broken["spec"]["replicas"] = "2"
    print("\nerror paths for one broken LeaderWorkerSet:")
    for issue in compiled.validate(broken):
        print(f"  pdcheck.schema  {issue.k8s_version}: {list(issue.path)} {issue.message[:90]}")
    if jsonschema_rs is not None:
        for error in rs[(versions[-1], broken["apiVersion"], broken["kind"])].iter_errors(broken):
            print(f"  jsonschema-rs   {versions[-1]}: {list(error.instance_path)} {error.message[:90]}")


if __name__ == "__main__":
    sys.exit(main())
