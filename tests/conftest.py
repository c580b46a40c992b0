import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
sys.path.insert(0, str(REPO / "tools"))  # tests run from a checkout, installed or not
sys.path.insert(0, str(REPO / "tests"))  # shared helpers: ruletest, router_harness


@pytest.fixture
def shared_dir():
    if not SHARED.is_dir():
        pytest.skip("../shared reference material is not present")
    return SHARED

# Keep the render cache of test runs out of the user's ~/.cache (subprocesses inherit it).
import os  # noqa: E402
import tempfile  # noqa: E402

os.environ.setdefault("PDCHECK_CACHE_DIR", tempfile.mkdtemp(prefix="pdcheck-test-cache-"))
