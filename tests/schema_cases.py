"""The two schema tests every wrapper-kind adapter runs: its fixture is valid for pdcheck's bundled
schema and for the upstream CRD, and each defect is rejected by both at the same path."""

from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

import pytest

from pdcheck.schema import SchemaValidator


@lru_cache(maxsize=None)
def _validator(crd: Path | None) -> SchemaValidator:
    return SchemaValidator(crd_files=[crd]) if crd else SchemaValidator()


def schema_tests(document: Callable[[], dict], crd: Callable[[], Path], defects):
    """Use as `test_fixture_valid, test_defect_rejected = schema_tests(doc, crd, DEFECTS)`, with
    DEFECTS rows (id, mutation of the object, path of the first invalid issue)."""

    def validators():
        return _validator(None), _validator(crd())

    def test_fixture_valid_for_bundled_schema_and_upstream_crd():
        for validator in validators():
            assert validator.validate(document()) == [], validator

    @pytest.mark.parametrize("mutate, path", [c[1:] for c in defects], ids=[c[0] for c in defects])
    def test_defect_rejected_by_bundled_schema_and_upstream_crd(mutate, path):
        x = document()
        mutate(x)
        for validator in validators():
            issues = validator.validate(x)
            assert [i.path for i in issues if i.kind == "invalid"][:1] == [path], (validator, issues)

    return test_fixture_valid_for_bundled_schema_and_upstream_crd, test_defect_rejected_by_bundled_schema_and_upstream_crd
