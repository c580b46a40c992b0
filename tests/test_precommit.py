"""The pre-commit hook (.pre-commit-hooks.yaml) as users consume it, and the project's own config.

pre-commit builds the hook's virtualenv by pip-installing a clone of this repository, so the tests
work on a git snapshot of the working tree (tracked files plus untracked, not ignored ones: what
will be committed), not on HEAD. Only PyPI is needed (pip installs the dependencies); pre-commit's
cache lives in a temporary PRE_COMMIT_HOME.

- The hook environment is built once per module (`pre-commit install-hooks` with the config
  try-repo generates: the snapshot as `repo`, its commit as `rev`); the broken and clean overlays
  then run against it with `pre-commit run`.
- `pre-commit try-repo <repo> pdcheck --all-files` itself is run once: try-repo always builds in a
  throwaway store of its own (it ignores PRE_COMMIT_HOME), so it costs a second build.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

pytest.importorskip("pre_commit", reason="pre-commit is not installed (it is in the test extras: pip install '.[test]')")

REPO = Path(__file__).resolve().parents[1]
BASELINE = REPO / "tests" / "fixtures" / "baseline.yaml"
BUILD_TIMEOUT = 600  # a hook venv: pip installs pdcheck and its dependencies
RUN_TIMEOUT = 180
KUSTOMIZATION = "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [deploy.yaml]\n"
TP_16 = '- --tp-size\n          - "16"'


def git_env(tmp: Path) -> dict:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("GIT_", "PRE_COMMIT")) and k not in ("SKIP", "VIRTUAL_ENV")}
    env.update(
        PRE_COMMIT_HOME=str(tmp / "pre-commit-home"), PRE_COMMIT_COLOR="never",
        GIT_AUTHOR_NAME="test", GIT_AUTHOR_EMAIL="test@example.com",
        GIT_COMMITTER_NAME="test", GIT_COMMITTER_EMAIL="test@example.com",
        GIT_CONFIG_NOSYSTEM="1", GIT_CONFIG_GLOBAL=os.devnull,
        PIP_DISABLE_PIP_VERSION_CHECK="1", PIP_NO_INPUT="1",
    )
    return env


def git(cwd: Path, env: dict, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True,
                          timeout=120).stdout.strip()


def commit_all(repo: Path, env: dict) -> str:
    if not (repo / ".git").exists():
        git(repo, env, "init", "-q", "-b", "main")
    git(repo, env, "add", "-A")
    git(repo, env, "commit", "-q", "--no-verify", "-m", "snapshot")
    return git(repo, env, "rev-parse", "HEAD")


def snapshot_working_tree(dest: Path) -> None:
    """Copy what `git ls-files --cached --others --exclude-standard` lists (files deleted in the
    working tree are skipped)."""
    listing = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=REPO,
                             check=True, capture_output=True, timeout=60).stdout.decode()
    for name in filter(None, listing.split("\0")):
        src = REPO / name
        if not os.path.lexists(src) or src.is_dir():
            continue
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, target, follow_symlinks=False)


def pre_commit(cwd: Path, env: dict, *args: str, timeout: float = RUN_TIMEOUT) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pre_commit", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=timeout, stdin=subprocess.DEVNULL)


def make_target(path: Path, env: dict, broken: bool, config: dict | None = None) -> Path:
    """A git repository holding overlays/demo (the baseline deployment; with tp 8 in r1-prefill when
    broken) and, optionally, a .pre-commit-config.yaml."""
    overlay = path / "overlays" / "demo"
    overlay.mkdir(parents=True)
    text = BASELINE.read_text()
    assert TP_16 in text
    if broken:
        text = text.replace(TP_16, TP_16.replace('"16"', '"8"'), 1)
    (overlay / "deploy.yaml").write_text(text)
    (overlay / "kustomization.yaml").write_text(KUSTOMIZATION)
    if config is not None:
        (path / ".pre-commit-config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    commit_all(path, env)
    return path


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    return tmp_path_factory.mktemp("pre-commit")


@pytest.fixture(scope="module")
def env(home):
    return git_env(home)


@pytest.fixture(scope="module")
def hook_repo(home, env):
    """The working tree as a one-commit git repository: (path, commit)."""
    path = home / "hook-repo"
    path.mkdir()
    snapshot_working_tree(path)
    assert (path / ".pre-commit-hooks.yaml").is_file()
    return path, commit_all(path, env)


def hook_config(hook_repo, **hook) -> dict:
    path, rev = hook_repo
    return {"repos": [{"repo": str(path), "rev": rev, "hooks": [{"id": "pdcheck", **hook}]}]}


@pytest.fixture(scope="module")
def installed(home, env, hook_repo):
    """Build the hook's environment once (in PRE_COMMIT_HOME) for the tests below."""
    target = make_target(home / "install", env, broken=False, config=hook_config(hook_repo))
    proc = pre_commit(target, env, "install-hooks", timeout=BUILD_TIMEOUT)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return hook_repo


def test_manifest_and_project_config_are_valid(env):
    for command, name in (("validate-manifest", ".pre-commit-hooks.yaml"), ("validate-config", ".pre-commit-config.yaml")):
        proc = pre_commit(REPO, env, command, str(REPO / name))
        assert proc.returncode == 0, proc.stdout + proc.stderr
    [hook] = yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text())
    assert hook["id"] == "pdcheck" and hook["language"] == "python"
    assert (hook["entry"], hook["args"]) == ("pdcheck validate", ["overlays/"])
    assert hook["pass_filenames"] is False and hook["require_serial"] is True
    own = yaml.safe_load((REPO / ".pre-commit-config.yaml").read_text())
    assert [h["id"] for r in own["repos"] for h in r["hooks"]] == ["pdcheck"]


def test_files_pattern_covers_the_kustomize_tree():
    import re

    [hook] = yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text())
    pattern = re.compile(hook["files"])
    for name in ("overlays/x/kustomization.yaml", "base/router.yaml", "profiles/rdma/ib/patch.json",
                 "deploy/overlays/prod/site/params.env", ".pdcheck.yaml", "docs/example.yml"):
        assert pattern.search(name), name
    for name in ("README.md", "tools/pdcheck/cli.py", "baseline.txt", "rebase/notes.md"):
        assert not pattern.search(name), name


@pytest.mark.slow
@pytest.mark.package_index
def test_hook_fails_on_a_broken_overlay_and_names_the_rule(installed, home, env):
    target = make_target(home / "broken", env, broken=True, config=hook_config(installed))
    proc = pre_commit(target, env, "run", "--all-files")
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1, out
    assert "Failed" in out and "tp-gpu-mismatch" in out and "overlays/demo/deploy.yaml:52" in out
    assert "Installing environment" not in out  # built once, by the fixture


@pytest.mark.slow
@pytest.mark.package_index
def test_hook_passes_on_a_clean_overlay(installed, home, env):
    target = make_target(home / "clean", env, broken=False, config=hook_config(installed))
    proc = pre_commit(target, env, "run", "--all-files")
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    assert "Passed" in out and "Installing environment" not in out


@pytest.mark.slow
@pytest.mark.package_index
def test_hook_args_can_be_overridden(installed, home, env):
    config = hook_config(installed, args=["overlays/demo", "--format", "github"])
    target = make_target(home / "args", env, broken=True, config=config)
    proc = pre_commit(target, env, "run", "--all-files")
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1, out
    assert "::error file=overlays/demo/deploy.yaml,line=52,title=tp-gpu-mismatch" in out


@pytest.mark.slow
@pytest.mark.package_index
def test_hook_skipped_without_kustomize_files(installed, home, env):
    target = home / "unrelated"
    target.mkdir()
    (target / "README.md").write_text("nothing to render\n")
    (target / "pc.cfg").write_text(yaml.safe_dump(hook_config(installed)))  # no YAML file in the tree
    commit_all(target, env)
    proc = pre_commit(target, env, "run", "--all-files", "--config", "pc.cfg")
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0 and "(no files to check)Skipped" in out, out


@pytest.mark.slow
@pytest.mark.package_index
def test_try_repo_on_a_broken_overlay(hook_repo, home, env):
    """The documented way to try the hook: `pre-commit try-repo <repo> pdcheck --all-files`."""
    target = make_target(home / "try-repo", env, broken=True)
    proc = pre_commit(target, env, "try-repo", str(hook_repo[0]), "pdcheck", "--all-files", timeout=BUILD_TIMEOUT)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1, out
    assert f"rev: {hook_repo[1]}" in out and "tp-gpu-mismatch" in out and "Failed" in out


def test_project_config_runs_on_the_shipped_overlays(hook_repo, env):
    """The project's own .pre-commit-config.yaml (a local hook running the working tree's pdcheck
    from .venv) passes on the shipped overlays."""
    path, _ = hook_repo
    venv = path / ".venv"
    if not venv.exists():
        venv.symlink_to(Path(sys.prefix), target_is_directory=True)  # the venv running the tests
    if not (venv / "bin" / "python").exists():
        pytest.skip(f"{sys.prefix} has no bin/python")
    proc = pre_commit(path, env, "run", "pdcheck", "--all-files")
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    assert "Passed" in out
