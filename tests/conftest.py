import os
import sys
import tempfile
from collections import Counter
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tools"))  # tests run from a checkout, installed or not
sys.path.insert(0, str(REPO / "tests"))  # shared helpers: ruletest, router_harness, reference_material

from reference_material import SHARED  # noqa: E402

# Keep the render cache of test runs out of the user's ~/.cache (subprocesses inherit it).
os.environ.setdefault("PDCHECK_CACHE_DIR", tempfile.mkdtemp(prefix="pdcheck-test-cache-"))


def _ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def pytest_addoption(parser):
    parser.addoption("--all", action="store_true", dest="run_all",
                     help="run every test, the ones marked slow too (what .ci/run runs)")


def pytest_configure(config):
    if _ci() and not SHARED.is_dir():
        raise pytest.UsageError(
            f"CI is set but {SHARED} (../shared, the reference material) is missing: the tests that "
            "compare against it would be skipped. Provide it next to the checkout, or unset CI for a local run."
        )


def pytest_collection_modifyitems(config, items):
    """The default run leaves out the tests marked slow (a quick edit-test loop); --all or an
    explicit -m selects for itself."""
    if config.getoption("run_all") or config.getoption("markexpr"):
        return
    slow = [item for item in items if item.get_closest_marker("slow")]
    if slow:
        config.hook.pytest_deselected(items=slow)
        items[:] = [item for item in items if not item.get_closest_marker("slow")]
    config.stash[_LEFT_OUT] = len(slow)


_LEFT_OUT = pytest.StashKey[int]()


def pytest_terminal_summary(terminalreporter, config):
    """One line that says what did not run and why."""
    reasons = Counter()
    for report in terminalreporter.stats.get("skipped", []):
        longrepr = report.longrepr
        reason = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
        reasons[reason.removeprefix("Skipped: ")] += 1
    parts = [f"{n} skipped: {reason}" for reason, n in reasons.most_common()]
    left_out = config.stash.get(_LEFT_OUT, 0)
    if left_out:
        parts.append(f"{left_out} slow tests left out of this quick run (`pytest --all` runs them, as .ci/run does)")
    if parts:
        terminalreporter.write_line("not run: " + "; ".join(parts))
