"""Schema validation of Kubernetes objects: strict core schemas, the LeaderWorkerSet schema, CRDs.

    validator = SchemaValidator(["1.26", "1.37"], crd_files=["lws-crd.yaml"])
    for issue in validator.validate(obj):
        print(issue.kind, issue.k8s_version, issue.path, issue.message)
"""

from .bundle import SchemaSetupError, bundled_k8s_versions

__all__ = ["SchemaIssue", "SchemaSetupError", "SchemaValidator", "bundled_k8s_versions"]


def __getattr__(name: str):
    # The validator is imported on first use: the results cache (checkcache.py) needs only bundle.py.
    if name in ("SchemaIssue", "SchemaValidator"):
        from . import validator

        return getattr(validator, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
