"""../shared: the reference material some tests compare against (the seed deployment, the upstream
LWS CRD and its SGLang example). It sits next to the checkout, not in it.

Without it those tests skip with SKIP_REASON and the run ends with one line counting them; with the
CI environment variable set, its absence fails the run before any test runs (conftest.py).
"""

from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
SKIP_REASON = f"needs ../shared, the reference material ({SHARED}), which is not present"


def shared_path(*parts: str) -> Path:
    """SHARED/parts. Skips the calling test when ../shared is absent; when ../shared is present,
    a missing file in it fails the test instead."""
    if not SHARED.is_dir():
        pytest.skip(SKIP_REASON)
    path = SHARED.joinpath(*parts)
    assert path.exists(), f"{path} is missing from ../shared"
    return path
