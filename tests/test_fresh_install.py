"""README.md's first command, as written, on a copy of the repository: what a fresh machine runs.

The copy holds what `git ls-files --cached --others --exclude-standard` lists (tracked files plus
untracked ones that are not ignored: what will be committed), never the dev venv, caches or build
output. The install needs PyPI (pip fetches the dependencies and the setuptools build backend).
"""

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
TIMEOUT = 600
SUMMARY = re.compile(r"^(\d+) errors?, (\d+) warnings? in (\d+) overlays?\b")


def readme_commands() -> list[str]:
    """The indented (4-space) command line after each paragraph, in order: the first is the
    fresh-machine check, the second the test run."""
    lines = (REPO / "README.md").read_text().splitlines()
    commands, in_paragraph = [], False
    for line in lines:
        if line.startswith("#"):
            in_paragraph = False
        elif line.startswith("    ") and line.strip() and not in_paragraph:
            commands.append(line.strip())
        elif line.strip():
            in_paragraph = True
        else:
            in_paragraph = False
        if len(commands) == 2:
            break
    assert len(commands) == 2, "README.md should start with two indented commands after their paragraphs"
    return commands


def copy_checkout(dest: Path) -> None:
    listing = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=REPO,
                             check=True, capture_output=True, timeout=60).stdout.decode()
    for name in filter(None, listing.split("\0")):
        src = REPO / name
        if not os.path.lexists(src) or src.is_dir():
            continue  # deleted in the working tree
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, target, follow_symlinks=False)


def test_readme_commands_are_what_they_say():
    first, second = readme_commands()
    assert first.startswith("python3 -m venv .venv") and "pdcheck validate overlays/" in first
    assert second.startswith("python3 -m venv .venv") and "pytest" in second


def test_ci_runs_exactly_the_readme_test_command():
    _, second = readme_commands()
    script = (REPO / ".ci" / "run").read_text().splitlines()
    assert script[0].startswith("#!")
    steps = [line.strip() for line in script[1:] if line.strip() and not line.strip().startswith("#")]
    setup = [s for s in steps if re.match(r"^(set|cd|export) ", s)]  # shell setup, not commands
    assert [s for s in steps if s not in setup] == [second]
    assert steps[-1] == second  # nothing runs after it


@pytest.mark.slow
@pytest.mark.package_index
def test_readme_first_command_on_a_fresh_copy(tmp_path):
    first, _ = readme_commands()
    checkout = tmp_path / "checkout"
    copy_checkout(checkout)
    assert not (checkout / ".venv").exists()
    env = {k: v for k, v in os.environ.items()
           if k not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP") and not k.startswith("PDCHECK_")}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    try:
        proc = subprocess.run(["bash", "-c", first], cwd=checkout, env=env, capture_output=True, text=True,
                              timeout=TIMEOUT, stdin=subprocess.DEVNULL, start_new_session=True)
    except subprocess.TimeoutExpired:
        pytest.fail(f"README's first command did not finish in {TIMEOUT} s: {first}")
    out = f"$ {first}\n--- stdout\n{proc.stdout}\n--- stderr\n{proc.stderr}"
    assert proc.returncode == 0, out
    last = proc.stdout.strip().splitlines()[-1]
    match = SUMMARY.match(last)
    assert match, out
    overlays = sorted(p.parent.name for p in (checkout / "overlays").glob("*/kustomization.yaml"))
    assert int(match.group(1)) == 0 and int(match.group(3)) == len(overlays), out
    assert "pdcheck: checking" in proc.stderr and all(f"overlays/{name}" in proc.stderr for name in overlays), out
    # it really ran the installed console script, not this checkout's sources
    assert (checkout / ".venv" / "bin" / "pdcheck").is_file()


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_makefile_targets():
    proc = subprocess.run(["make", "-n", "PYTHON=py", "test", "golden", "docs", "catalogs", "bench", "check"],
                          cwd=REPO, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    _, second = readme_commands()
    pytest_part = second.split("&&")[-1].strip()
    assert lines[0] == pytest_part.replace(".venv/bin/python", "py")  # `make test` is the README's test run
    # `make catalogs` re-dumps exactly the catalogs pdcheck ships
    shipped = sorted(p.stem for p in (REPO / "tools" / "pdcheck" / "catalogs").glob("*.json"))
    (dump,) = [line for line in lines if "dump_flag_catalogs.py" in line]
    dumped = re.findall(r"--(sglang|router) (\S+)", dump)
    assert sorted(f"{'sglang-router' if prog == 'router' else 'sglang'}-{v}" for prog, v in dumped) == shipped
    # every script a target runs exists
    scripts = [word for line in lines for word in line.split() if word.endswith(".py")]
    assert scripts and all((REPO / s).is_file() for s in scripts), scripts
