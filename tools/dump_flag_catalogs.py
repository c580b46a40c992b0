#!/usr/bin/env python3
"""Dump SGLang / sglang-router CLI flag catalogs from the REAL argparse parsers.

Maintainer tool: never run in CI, not part of the pdcheck install, stdlib only.

    python tools/dump_flag_catalogs.py --sglang 0.5.23 --router 0.3.2
    python tools/dump_flag_catalogs.py --sglang 0.5.0 --probe-argv ref-prefill.json --no-write

For each version it builds a venv under --venv-root (default ~/.cache/pdcheck-catalog-venvs),
installs the package with --no-deps plus only what importing the parser module needs, builds
the parser exactly as the launcher does, and writes
tools/pdcheck/catalogs/<program>-<version>.json (sorted keys, stable order: re-running gives
an identical file).

Venv layout (to save disk and the slow torch install): one shared "base" venv holds CPU
torch 2.13.0 + triton; each sglang-<ver> venv sees it through a .pth file and holds only
sglang and its light import deps. Router venvs need no torch.

The script re-runs itself inside the version's venv with --inner to do the dump; the
outer process only manages venvs and files.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = REPO_ROOT / "tools" / "pdcheck" / "catalogs"
DEFAULT_VENV_ROOT = Path(os.environ.get("PDCHECK_CATALOG_VENVS", "~/.cache/pdcheck-catalog-venvs")).expanduser()
TORCH_PIN = "torch==2.13.0"  # a CPU wheel; never let pip resolve a CUDA torch
GENERATED_BY = "tools/dump_flag_catalogs.py"

# What `import sglang.srt.server_args` (0.5.x) needs besides torch/triton, found by
# importing in an empty venv and adding the missing module until the import succeeds.
# Older or newer releases may need more: ensure_importable() keeps adding packages
# (MODULE_TO_PACKAGE) and reports them.
SGLANG_IMPORT_DEPS = [
    "numpy", "orjson", "psutil", "pybase64", "requests", "pillow", "starlette",
    "msgspec", "pydantic", "pyzmq", "tqdm", "ipython", "aiohttp", "packaging",
]
ROUTER_IMPORT_DEPS = ["setproctitle", "aiohttp", "orjson", "uvicorn", "fastapi"]
MODULE_TO_PACKAGE = {
    "PIL": "pillow", "zmq": "pyzmq", "yaml": "pyyaml", "attr": "attrs", "IPython": "ipython",
    "google": "protobuf", "sklearn": "scikit-learn", "cv2": "opencv-python-headless",
    "dateutil": "python-dateutil", "huggingface_hub": "huggingface-hub",
    "pynvml": "nvidia-ml-py", "prometheus_client": "prometheus-client",
    "partial_json_parser": "partial-json-parser", "compressed_tensors": "compressed-tensors",
    "openai_harmony": "openai-harmony", "sentencepiece": "sentencepiece",
    "multipart": "python-multipart", "jwt": "pyjwt", "typing_inspection": "typing-inspection",
    "pydantic_core": "pydantic-core",
}
BASE_VENV_NAME = "base-torch-2.13.0"

ENV_NAME_RE = re.compile(r"^(SGLANG|SGL)_[A-Z0-9_]+$")
ENV_VARS_METHOD = (
    "AST scan of every .py file in the installed package: string constants passed to "
    "os.environ[...]/os.environ.get/os.getenv/'X in os.environ' and to helpers named get_*env*"
    "/*env_var*; attribute reads envs.X; class attributes declared in sglang/srt/environ.py. "
    "Names built at run time (f-strings) are not seen."
)


# ----------------------------------------------------------------------------------------
# Inner side: runs inside the version's venv. Uses only argparse + the target package.
# ----------------------------------------------------------------------------------------

ACTION_KINDS = {
    "_StoreAction": "store", "_StoreTrueAction": "store_true", "_StoreFalseAction": "store_false",
    "_StoreConstAction": "store_const", "_AppendAction": "append",
    "_AppendConstAction": "append_const", "_CountAction": "count", "_HelpAction": "help",
    "_VersionAction": "version", "_ExtendAction": "extend",
}


def _type_name(type_) -> str | None:
    if type_ is None:
        return None
    if type_ is json.loads:
        return "json"
    func = getattr(type_, "func", type_)  # functools.partial
    return getattr(func, "__name__", type(func).__name__)


def _json_safe(value):
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if value == value and abs(value) != float("inf") else repr(value)
    if isinstance(value, (list, tuple, set, frozenset)):
        items = [_json_safe(v) for v in value]
        return sorted(items, key=repr) if isinstance(value, (set, frozenset)) else items
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))}
    if hasattr(value, "value") and type(value).__class__.__name__ == "EnumMeta":
        return _json_safe(value.value)
    # Object reprs may carry memory addresses; strip them so output is stable.
    return re.sub(r" at 0x[0-9a-f]+", "", repr(value))


REPLACEMENT_RE = re.compile(r"\b[Uu]se\s+[`'\"]?(--[A-Za-z0-9][^\s`'\",;)]*(?:\s+<[^>]+>)?)")


def _deprecation(action) -> str | None:
    """None, or a message; names the replacement when the parser says what it is."""
    help_text = " ".join((action.help or "").split())
    new_flag = getattr(action, "new_flag", None)
    error_message = getattr(action, "error_message", None)
    cls = type(action).__name__
    argparse_deprecated = getattr(action, "deprecated", False)  # Python >= 3.13
    # Only help that says the flag itself is deprecated ("Deprecated. Use ...", "(Deprecated:
    # use ...)", "This flag is deprecated"), not help that merely mentions another deprecation.
    looks_deprecated = bool(
        re.match(r"^\W*deprecated\b", help_text, re.I)
        or re.search(r"\b(this|the) (flag|option|argument) is deprecated", help_text, re.I)
        or re.search(r"\bdeprecated\W{0,3}(please\s+)?use\s+--", help_text, re.I)
    )
    if not (new_flag or error_message or "Deprecated" in cls or argparse_deprecated or looks_deprecated):
        return None
    if error_message:  # SGLang's DeprecatedAction(error_message=...) stops the launch
        return f"removed: the launcher exits with: {' '.join(str(error_message).split())}"
    replacement = new_flag
    if not replacement:
        match = REPLACEMENT_RE.search(help_text)
        replacement = match.group(1).rstrip(".") if match else None
    return f"deprecated; use {replacement} instead" if replacement else "deprecated"


def _first_line(text: str | None) -> str:
    if not text:
        return ""
    lines = [line.strip() for line in str(text).strip().splitlines()]
    return " ".join(lines[0].split()) if lines else ""


def dump_action(action) -> dict:
    cls = type(action).__name__
    choices = None
    if action.choices is not None and not isinstance(action.choices, dict):
        choices = sorted(str(c) for c in action.choices)
    nargs = action.nargs
    return {
        "option_strings": list(action.option_strings),
        "dest": action.dest,
        "action": ACTION_KINDS.get(cls, cls),
        "type": _type_name(action.type),
        "choices": choices,
        "const": _json_safe(action.const),
        "default": _json_safe(action.default),
        "nargs": nargs if nargs is None or isinstance(nargs, (int, str)) else str(nargs),
        "required": bool(action.required),
        "help": _first_line(action.help),
        "deprecated": _deprecation(action),
    }


def _capture_parser(build):
    """Run `build()` (which builds a parser and parses argv) and return that parser,
    stopping at parse time so nothing is launched."""

    class Captured(Exception):
        pass

    captured = {}
    original = argparse.ArgumentParser.parse_args

    def fake_parse_args(self, *args, **kwargs):
        captured["parser"] = self
        raise Captured()

    argparse.ArgumentParser.parse_args = fake_parse_args
    try:
        build()
    except Captured:
        pass
    finally:
        argparse.ArgumentParser.parse_args = original
    return captured.get("parser")


# Modules some releases import at module top only for model code (e.g. 0.5.6's
# configs -> internvl_utils -> torchvision). Installing torchvision would drag in another
# torch, and nothing in the parser uses it, so an import-only stand-in is enough.
# Each catalog records which stand-ins its dump needed.
STUB_MODULES = ("torchvision",)


def install_import_stubs() -> list[str]:
    import importlib.abc
    import importlib.machinery
    import types

    used: list[str] = []

    class StubMeta(type):
        def __getattr__(cls, name):
            if name.startswith("__"):
                raise AttributeError(name)
            return StubMeta(name, (), {})

        def __call__(cls, *args, **kwargs):
            return cls

        def __getitem__(cls, key):
            return cls

    class StubModule(types.ModuleType):
        def __getattr__(self, name):
            if name.startswith("__"):
                raise AttributeError(name)
            return StubMeta(name, (), {})

    class StubFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
        def find_spec(self, fullname, path=None, target=None):
            if fullname.split(".")[0] in STUB_MODULES:
                return importlib.machinery.ModuleSpec(fullname, self, is_package=True)
            return None

        def create_module(self, spec):
            module = StubModule(spec.name)
            module.__path__ = []
            if spec.name.split(".")[0] not in used:
                used.append(spec.name.split(".")[0])
            return module

        def exec_module(self, module):
            pass

    sys.meta_path.insert(0, StubFinder())
    return used


def build_real_parser(program: str) -> argparse.ArgumentParser:
    if program == "sglang":
        # Exactly what launch_server/prepare_server_args does; ServerArgs is never constructed.
        from sglang.srt.server_args import ServerArgs

        parser = argparse.ArgumentParser()
        ServerArgs.add_cli_args(parser)
        return parser
    # Router: capture the parser its launcher builds (prefix, formatter, ...), so we follow
    # whatever shape each release has.
    import sglang_router.launch_router as launch_router

    if hasattr(launch_router, "parse_router_args"):
        parser = _capture_parser(lambda: launch_router.parse_router_args([]))
        if parser is not None:
            return parser
    from sglang_router.launch_router import RouterArgs

    parser = argparse.ArgumentParser()
    RouterArgs.add_cli_args(parser, use_router_prefix=False)
    return parser


def scan_env_vars(package_dir: Path) -> list[str]:
    import ast

    names: set[str] = set()

    def const_name(node):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and ENV_NAME_RE.match(node.value):
            return node.value
        return None

    def is_environ(node):
        return (isinstance(node, ast.Attribute) and node.attr == "environ") or (
            isinstance(node, ast.Name) and node.id == "environ")

    for path in sorted(package_dir.rglob("*.py")):
        try:
            tree = ast.parse(path.read_text(encoding="utf-8", errors="replace"))
        except SyntaxError:
            continue
        declares_envs = path.name == "environ.py"
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and node.args:
                func = node.func
                fname = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
                reads_env = (
                    fname == "getenv"
                    or (fname in ("get", "pop", "setdefault") and isinstance(func, ast.Attribute) and is_environ(func.value))
                    or ("env" in fname.lower() and (fname.startswith("get") or "env_var" in fname.lower()))
                )
                if reads_env and (name := const_name(node.args[0])):
                    names.add(name)
            elif isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Load) and is_environ(node.value):
                if name := const_name(node.slice):
                    names.add(name)
            elif isinstance(node, ast.Compare) and any(isinstance(op, ast.In) for op in node.ops):
                if any(is_environ(c) for c in node.comparators) and (name := const_name(node.left)):
                    names.add(name)
            elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "envs":
                if ENV_NAME_RE.match(node.attr):
                    names.add(node.attr)
            elif declares_envs and isinstance(node, ast.ClassDef):
                for stmt in node.body:
                    targets = stmt.targets if isinstance(stmt, ast.Assign) else (
                        [stmt.target] if isinstance(stmt, ast.AnnAssign) else [])
                    for target in targets:
                        if isinstance(target, ast.Name) and ENV_NAME_RE.match(target.id):
                            names.add(target.id)
    return sorted(names)


def console_scripts(dist_name: str) -> dict[str, str]:
    from importlib.metadata import distribution

    eps = distribution(dist_name).entry_points
    return {ep.name: ep.value for ep in sorted(eps, key=lambda e: e.name) if ep.group == "console_scripts"}


def inner_main(program: str, version: str, probe_files: list[str]) -> None:
    import warnings

    warnings.filterwarnings("ignore")
    stubbed = install_import_stubs()
    started = time.monotonic()
    parser = build_real_parser(program)
    build_seconds = time.monotonic() - started
    package = "sglang" if program == "sglang" else "sglang_router"
    package_dir = Path(__import__(package).__file__).parent

    probes = {}
    for probe_file in probe_files:
        argv = json.loads(Path(probe_file).read_text())
        probes[probe_file] = probe_with_parser(parser, argv)

    options = [dump_action(a) for a in parser._actions]
    options.sort(key=lambda o: (o["option_strings"][0] if o["option_strings"] else "", o["dest"]))
    catalog = {
        "program": program,
        "version": version,
        "generated_by": GENERATED_BY,
        "python": "%d.%d.%d" % sys.version_info[:3],
        "parser": {"allow_abbrev": parser.allow_abbrev, "prefix_chars": parser.prefix_chars},
        "console_scripts": console_scripts(program),
        "options": options,
        "env_vars": scan_env_vars(package_dir),
        "env_vars_method": ENV_VARS_METHOD,
        "import_stubs": sorted(stubbed),
    }
    print(json.dumps({"catalog": catalog, "probes": probes, "parser_build_seconds": round(build_seconds, 2)}))


def probe_with_parser(parser: argparse.ArgumentParser, argv: list[str]) -> dict:
    """Parse argv with the real parser: {'ok': True} or {'ok': False, 'error': message}."""
    import contextlib
    import io

    stderr = io.StringIO()
    try:
        with contextlib.redirect_stderr(stderr):
            parser.parse_args(argv)
    except SystemExit as exc:
        return {"ok": False, "exit": exc.code, "error": stderr.getvalue().strip().splitlines()[-1:]}
    return {"ok": True}


# ----------------------------------------------------------------------------------------
# Outer side: venvs, installs, files.
# ----------------------------------------------------------------------------------------

def run(cmd: list[str], **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, check=True, text=True, **kwargs)


def venv_python(venv: Path) -> Path:
    return venv / "bin" / "python"


def site_packages(venv: Path) -> Path:
    return next((venv / "lib").glob("python3*/site-packages"))


def pip_install(venv: Path, *packages: str, no_deps: bool = False) -> None:
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as constraints:
        # If anything asks for torch it gets the CPU one; torchvision would pull another torch.
        constraints.write(TORCH_PIN + "\ntorchvision<0\n")
    cmd = [str(venv_python(venv)), "-m", "pip", "install", "-q", "--disable-pip-version-check",
           "-c", constraints.name]
    if no_deps:
        cmd.append("--no-deps")
    run(cmd + list(packages), stderr=subprocess.DEVNULL)
    os.unlink(constraints.name)


def ensure_base_venv(venv_root: Path) -> Path:
    base = venv_root / BASE_VENV_NAME
    if not (base / ".ready").exists():
        shutil.rmtree(base, ignore_errors=True)
        run([sys.executable, "-m", "venv", str(base)])
        pip_install(base, TORCH_PIN, "triton")
        (base / ".ready").write_text("ok\n")
    return base


def ensure_version_venv(program: str, version: str, venv_root: Path) -> Path:
    venv = venv_root / f"{program}-{version}"
    if (venv / ".ready").exists():
        return venv
    shutil.rmtree(venv, ignore_errors=True)
    run([sys.executable, "-m", "venv", str(venv)])
    if program == "sglang":
        base = ensure_base_venv(venv_root)
        # Share the base venv's torch/triton instead of installing 2 GB per version.
        (site_packages(venv) / "_pdcheck_base_torch.pth").write_text(str(site_packages(base)) + "\n")
        pip_install(venv, f"sglang=={version}", no_deps=True)
        pip_install(venv, *(pinned_requirement(venv, program, p) for p in SGLANG_IMPORT_DEPS))
    else:
        pip_install(venv, f"sglang-router=={version}", no_deps=True)
        pip_install(venv, *(pinned_requirement(venv, program, p) for p in ROUTER_IMPORT_DEPS))
    added = ensure_importable(program, venv)
    (venv / ".ready").write_text(json.dumps({"extra_import_deps": added}) + "\n")
    return venv




def _normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pinned_requirement(venv: Path, program: str, package: str) -> str:
    """`package` with the version spec the release itself declares (e.g. sglang 0.5.6.post2
    pins transformers==4.57.1; the newest transformers breaks its imports)."""
    dist_name = "sglang" if program == "sglang" else "sglang_router"
    for metadata in site_packages(venv).glob(f"{dist_name}-*.dist-info/METADATA"):
        lines = metadata.read_text(encoding="utf-8").splitlines()
        # Base requirements first; 0.4.x keeps most pins in extras (srt, runtime_common).
        lines.sort(key=lambda line: "extra ==" in line)
        for line in lines:
            if not line.startswith("Requires-Dist:"):
                continue
            requirement = line.split(":", 1)[1].split(";")[0].strip()
            name = re.match(r"[A-Za-z0-9_.-]+", requirement).group(0)
            if _normalize(name) == _normalize(package):
                return requirement.replace(" ", "")
    return package


def ensure_importable(program: str, venv: Path, max_rounds: int = 30) -> list[str]:
    """Import the parser module; install whatever module is missing; repeat."""
    added = []
    for _ in range(max_rounds):
        proc = subprocess.run([str(venv_python(venv)), "-W", "ignore", str(Path(__file__).resolve()),
                               "--inner-import-check", program], capture_output=True, text=True)
        if proc.returncode == 0:
            return added
        match = re.search(r"No module named '([^']+)'", proc.stderr)
        if not match:
            raise RuntimeError(f"cannot import the {program} parser:\n{proc.stderr[-3000:]}")
        module = match.group(1)
        package = MODULE_TO_PACKAGE.get(module) or MODULE_TO_PACKAGE.get(module.split(".")[0]) or module.split(".")[0]
        if package in added:
            raise RuntimeError(f"installing {package} did not provide {module}:\n{proc.stderr[-3000:]}")
        requirement = pinned_requirement(venv, program, package)
        print(f"  {program}: import needs {module!r}; installing {requirement}", file=sys.stderr)
        pip_install(venv, requirement)
        added.append(package)
    raise RuntimeError(f"gave up after {max_rounds} missing modules")


def dump(program: str, version: str, venv_root: Path, out_dir: Path, probes: list[str],
         write: bool) -> dict:
    started = time.monotonic()
    venv = ensure_version_venv(program, version, venv_root)
    setup_seconds = time.monotonic() - started
    started = time.monotonic()
    proc = run([str(venv_python(venv)), "-W", "ignore", str(Path(__file__).resolve()), "--inner", program,
                version, *probes], capture_output=True)
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    dump_seconds = time.monotonic() - started
    catalog = result["catalog"]
    text = json.dumps(catalog, indent=1, sort_keys=True, ensure_ascii=False) + "\n"
    path = out_dir / f"{program}-{version}.json"
    if write:
        out_dir.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    summary = {
        "file": str(path) if write else None,
        "options": len(catalog["options"]),
        "option_strings": sum(len(o["option_strings"]) for o in catalog["options"]),
        "env_vars": len(catalog["env_vars"]),
        "bytes": len(text.encode()),
        "venv_setup_seconds": round(setup_seconds, 1),
        "dump_seconds": round(dump_seconds, 1),
        "parser_build_seconds": result["parser_build_seconds"],
        "extra_import_deps": json.loads((venv / ".ready").read_text())["extra_import_deps"],
        "probes": result["probes"],
    }
    print(json.dumps({f"{program}=={version}": summary}, indent=1))
    return summary


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--inner-import-check"]:
        install_import_stubs()
        build_real_parser(argv[1])
        return
    if argv[:1] == ["--inner"]:
        inner_main(argv[1], argv[2], argv[3:])
        return
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sglang", action="append", default=[], metavar="VERSION", help="sglang release (repeatable)")
    ap.add_argument("--router", action="append", default=[], metavar="VERSION", help="sglang-router release (repeatable)")
    ap.add_argument("--venv-root", type=Path, default=DEFAULT_VENV_ROOT, help="where the venvs live (default %(default)s)")
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT, help="catalog directory (default %(default)s)")
    ap.add_argument("--probe-argv", action="append", default=[], metavar="JSON_FILE",
                    help="also parse this JSON list of argv with the real parser and report ok/error")
    ap.add_argument("--no-write", action="store_true", help="do not write catalog files (probing only)")
    ap.add_argument("--remove-venv", action="store_true", help="delete each version's venv afterwards (keeps the torch base)")
    args = ap.parse_args(argv)
    if not (args.sglang or args.router):
        ap.error("give at least one --sglang or --router version")
    probes = [str(Path(p).resolve()) for p in args.probe_argv]
    for program, versions in (("sglang", args.sglang), ("sglang-router", args.router)):
        for version in versions:
            dump(program, version, args.venv_root, args.out, probes, write=not args.no_write)
            if args.remove_venv:
                shutil.rmtree(args.venv_root / f"{program}-{version}", ignore_errors=True)


if __name__ == "__main__":
    main()
