"""Schema validation of Kubernetes objects: strict core schemas, the LeaderWorkerSet schema, CRDs.

    validator = SchemaValidator(["1.26", "1.37"], crd_files=["lws-crd.yaml"])
    for issue in validator.validate(obj):
        print(issue.kind, issue.k8s_version, issue.path, issue.message)
"""

from .bundle import SchemaSetupError, bundled_k8s_versions
from .validator import SchemaIssue, SchemaValidator

__all__ = ["SchemaIssue", "SchemaSetupError", "SchemaValidator", "bundled_k8s_versions"]
