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
    parser.addoption("--slow", action="store_true", dest="run_slow",
                     help="run the tests marked slow too (what .ci/run runs)")


def pytest_configure(config):
    if _ci() and not SHARED.is_dir():
        raise pytest.UsageError(
            f"CI is set but {SHARED} (../shared, the reference material) is missing: the tests that "
            "compare against it would be skipped. Provide it next to the checkout, or unset CI for a local run."
        )


_LEFT_OUT = pytest.StashKey[Counter]()


def pytest_collection_modifyitems(config, items):
    """The default run leaves out the tests marked slow (a quick edit-test loop): --slow or an
    explicit -m keeps them. The exploratory and corpus ones run only when the -m expression names them."""
    markexpr = config.getoption("markexpr")
    left_out = [m for m in ("exploratory", "corpus") if m not in markexpr]
    if not markexpr and not config.getoption("run_slow"):
        left_out.append("slow")
    kept, dropped, counts = [], [], Counter()
    for item in items:
        marker = next((m for m in left_out if item.get_closest_marker(m)), None)
        if marker:
            dropped.append(item)
            counts[marker] += 1
        else:
            kept.append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept
    config.stash[_LEFT_OUT] = counts


def pytest_terminal_summary(terminalreporter, config):
    """One line that says what did not run and why."""
    reasons = Counter()
    for report in terminalreporter.stats.get("skipped", []):
        longrepr = report.longrepr
        reason = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
        reasons[reason.removeprefix("Skipped: ")] += 1
    parts = [f"{n} skipped: {reason}" for reason, n in reasons.most_common()]
    left_out = config.stash.get(_LEFT_OUT, Counter())
    if left_out["slow"]:
        parts.append(f"{left_out['slow']} marked slow, left out of this quick run (`pytest --slow` runs them, as .ci/run does)")
    if left_out["exploratory"]:
        parts.append(f"{left_out['exploratory']} marked exploratory (run by hand: `pytest -m exploratory`)")
    if left_out["corpus"]:
        parts.append(f"{left_out['corpus']} marked corpus (third-party manifests, run by hand: "
                     "`PDCHECK_CORPUS_DIR=<copies> pytest -m corpus`)")
    if parts:
        terminalreporter.write_line("not run: " + "; ".join(parts))
