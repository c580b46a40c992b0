"""Throughput of pdcheck.schema vs kubernetes_validate.validate (and jsonschema-rs if importable).

Not a test. Run:  PYTHONPATH=tools .venv/bin/python tests/data/schema/benchmark.py
Corpus: ~1,000 docs cycling through the reference LWS/Service/Deployment manifests in ../shared and
ConfigMaps; every doc is checked for Kubernetes 1.26 and 1.37.
"""

import copy
import re
import sys
import time
from pathlib import Path

import yaml

SHARED = Path(__file__).resolve().parents[3].parent / "shared"
VERSIONS = ["1.26", "1.37"]


def corpus(n: int = 1000) -> list[dict]:
    seed = (SHARED / "seed" / "000_3bc60c81eb28b8e5.txt").read_text()
    docs = [d for block in re.findall(r"```ya?ml\n(.*?)```", seed, re.S) for d in yaml.safe_load_all(block) if d]
    docs += list(yaml.safe_load_all((SHARED / "reference" / "lws-example-sglang.yaml").read_text()))
    docs += [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"c{i}"}, "data": {"a": "b"}} for i in range(2)]
    return [copy.deepcopy(docs[i % len(docs)]) for i in range(n)]


def timed(label: str, fn, docs: list[dict]) -> None:
    start = time.perf_counter()
    for doc in docs:
        fn(doc)
    elapsed = time.perf_counter() - start
    print(f"{label:55s} {len(docs) / elapsed:9.0f} docs/s  ({elapsed:.2f} s for {len(docs)})")


def main() -> None:
    from pdcheck.schema import SchemaValidator

    docs = corpus()
    kinds = {}
    for d in docs:
        kinds[d["kind"]] = kinds.get(d["kind"], 0) + 1
    print("corpus:", kinds, "versions:", VERSIONS)

    start = time.perf_counter()
    validator = SchemaValidator(VERSIONS)
    for kind in ("LeaderWorkerSet", "Deployment", "Service", "ConfigMap"):
        validator.validate(next(d for d in docs if d["kind"] == kind))
    print(f"first call (load + compile 4 kinds x 2 versions): {time.perf_counter() - start:.3f} s")
    timed("pdcheck.schema (fast check + jsonschema on failure)", validator.validate, docs)

    jsonschema_only = SchemaValidator(VERSIONS)
    def jsonschema_path(doc):
        for version in VERSIONS:
            compiled = jsonschema_only._validator(version, doc["apiVersion"], doc["kind"])
            list(compiled.jsonschema_validator.iter_errors(doc))
    timed("pdcheck.schema, jsonschema iter_errors only", jsonschema_path, docs)

    import kubernetes_validate
    def kv(doc):
        for version in VERSIONS:
            try:
                kubernetes_validate.validate(doc, version, strict=True)
            except kubernetes_validate.SchemaNotFoundError:
                pass  # LWS: kubernetes-validate has no schema for it
    timed("kubernetes_validate.validate (LWS: schema not found)", kv, docs[:200])
    timed("kubernetes_validate.validate, core kinds only", kv, [d for d in docs if d["kind"] != "LeaderWorkerSet"][:200])

    try:
        import jsonschema_rs
    except ImportError:
        print("jsonschema-rs not importable; skipped")
        return
    from pdcheck.schema import bundle
    rs_validators = {}
    start = time.perf_counter()
    for version in VERSIONS:
        registry = jsonschema_rs.Registry([(bundle.DEFINITIONS_URI, bundle.load_definitions(version))])
        for doc in docs:
            key = (version, doc["apiVersion"], doc["kind"])
            if key not in rs_validators:
                schema = validator._find_schema(version, doc["apiVersion"], doc["kind"])
                rs_validators[key] = jsonschema_rs.Draft202012Validator(schema, registry=registry)
    print(f"jsonschema-rs first call (load + compile 4 kinds x 2 versions): {time.perf_counter() - start:.3f} s")
    def rs_is_valid(doc):
        for version in VERSIONS:
            rs_validators[(version, doc["apiVersion"], doc["kind"])].is_valid(doc)
    def rs_errors(doc):
        for version in VERSIONS:
            list(rs_validators[(version, doc["apiVersion"], doc["kind"])].iter_errors(doc))
    timed("jsonschema-rs is_valid", rs_is_valid, docs)
    timed("jsonschema-rs iter_errors", rs_errors, docs)
    broken = copy.deepcopy(next(d for d in docs if d["kind"] == "LeaderWorkerSet"))
    broken["spec"]["leaderWorkerTemplate"]["workerTemplate"]["spec"]["containers"][0]["imagePullPolicyy"] = "x"
    broken["spec"]["replicas"] = "2"
    for error in rs_validators[("1.37", broken["apiVersion"], broken["kind"])].iter_errors(broken):
        print("  jsonschema-rs error:", list(error.instance_path), error.message[:120])


if __name__ == "__main__":
    sys.exit(main())
