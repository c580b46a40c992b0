"""parse_argv against the real argparse: differential tables, the reference deployment, launchers."""

import argparse
import contextlib
import io
import json
import shlex

import pytest

from pdcheck.argv import DYNAMO_SGLANG, ERROR_KINDS, parse_argv, split_launcher
from pdcheck.dynamo_flags import with_dynamo_options
from pdcheck.catalog import Catalog, Option, available_versions, load_catalog

OLDEST_SGLANG = available_versions("sglang")[0]
NEWEST_SGLANG = available_versions("sglang")[-1]
OLDEST_ROUTER = available_versions("sglang-router")[0]
NEWEST_ROUTER = available_versions("sglang-router")[-1]

# The reference deployment (shared/seed/000_...), $(LWS_*) already expanded by the caller.
REF_PREFILL = (
    "--port 30000 --host 0.0.0.0 --model-path /work/models --disaggregation-ib-device "
    "mlx5_bond_0,mlx5_bond_1,mlx5_bond_2,mlx5_bond_3 --chunked-prefill-size 524288 --max-prefill-tokens 32768 "
    "--page-size 64 --ep-dispatch-algorithm dynamic --eplb-algorithm deepseek --enable-dp-lm-head "
    "--enable-dp-attention --dp-size 16 --disable-radix-cache --moe-a2a-backend deepep --disaggregation-mode "
    "prefill --mem-fraction-static 0.7 --context-length 32768 --tp 16 --dist-init-addr lws-0.lws:20102 "
    "--nnodes 2 --node-rank 0 --trust-remote-code --ep-num-redundant-experts 32 --moe-dense-tp-size 1 "
    "--max-running-requests 1024"
).split()
REF_DECODE = (
    "--port 30000 --host 0.0.0.0 --model-path /work/models --chunked-prefill-size 262144 --page-size 64 "
    "--enable-dp-attention --enable-dp-lm-head --dp-size 16 --moe-a2a-backend deepep --disaggregation-mode decode "
    "--mem-fraction-static 0.849 --context-length 32768 --disaggregation-ib-device "
    "mlx5_bond_0,mlx5_bond_1,mlx5_bond_2,mlx5_bond_3 --cuda-graph-max-bs 64 --max-running-requests 2048 "
    "--tp-size 16 --dist-init-addr lws-0.lws:20102 --nnodes 2 --node-rank 1 --trust-remote-code "
    "--ep-num-redundant-experts 32 --moe-dense-tp-size 1"
).split()
REF_ROUTER = ("--pd-disaggregation --prefill http://p:30000 --decode http://d:30000 --host 0.0.0.0 "
              "--port 8000").split()


# --- building a real argparse parser from a catalog (and a catalog from a parser) -----------

_TYPES = {"int": int, "float": float, "json": json.loads}


def parser_from_catalog(catalog: Catalog) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(add_help=False, allow_abbrev=catalog.allow_abbrev, exit_on_error=False)
    for o in catalog.options:
        kw = {"dest": o.dest}
        if o.action in ("help", "version"):
            kw.update(action="store_true")
        elif o.action in ("store_true", "store_false", "count"):
            kw.update(action=o.action)
        elif o.action == "BooleanOptionalAction":
            strings = [s for s in o.option_strings if "--no-" + s[2:] in o.option_strings]
            parser.add_argument(*strings, action=argparse.BooleanOptionalAction, **kw)
            continue
        elif not o.takes_value:  # custom no-value actions (SGLang's Deprecated*Action)
            kw.update(action="store_const", const=True)
        else:
            type_ = _TYPES.get(o.type, str)
            kw.update(action="append" if o.action == "append" else "store", nargs=o.nargs, type=type_)
            if o.choices is not None:
                kw["choices"] = [type_(c) for c in o.choices] if type_ in (int, float) else list(o.choices)
        parser.add_argument(*o.option_strings, required=o.required, **kw)
    return parser


def catalog_from_parser(parser: argparse.ArgumentParser) -> Catalog:
    kinds = {argparse._StoreAction: "store", argparse._StoreTrueAction: "store_true",
             argparse._AppendAction: "append", argparse._CountAction: "count", argparse._HelpAction: "help"}
    names = {int: "int", float: "float", str: "str", None: None}
    options = tuple(
        Option(dest=a.dest, option_strings=tuple(a.option_strings), action=kinds[type(a)], type=names[a.type],
               choices=tuple(str(c) for c in a.choices) if a.choices else None, default=a.default,
               nargs=a.nargs, deprecated=None, help="", required=a.required, const=a.const)
        for a in parser._actions)
    return Catalog("toy", "0", options, frozenset())


def argparse_result(parser, argv):
    """(ok, namespace-or-None) the way a launcher sees it: any error exits 2."""
    with contextlib.redirect_stderr(io.StringIO()):
        try:
            return True, parser.parse_args(argv)
        except (SystemExit, argparse.ArgumentError):
            return False, None


def assert_agrees(catalog, parser, argv):
    ok, namespace = argparse_result(parser, argv)
    parsed = parse_argv(argv, catalog)
    assert (not any(p.kind in ERROR_KINDS for p in parsed.problems)) == ok, (argv, parsed.problems)
    if ok:
        for arg in parsed.args:
            assert parsed.value(arg.option.dest) == getattr(namespace, arg.option.dest), (argv, arg)


# --- differential: toy parsers covering nargs / prefixes / negative numbers -----------------

def toy_parser(negative_option=False):
    p = argparse.ArgumentParser(exit_on_error=False)
    p.add_argument("--tp-size", type=int)
    p.add_argument("--tokenizer-path")
    p.add_argument("--bs-decode", type=int)
    p.add_argument("--bs-prefill", type=int)
    p.add_argument("--opt", nargs="?", const="C")
    p.add_argument("--many", nargs="*")
    p.add_argument("--some", nargs="+", action="append")
    p.add_argument("--pair", nargs=2)
    p.add_argument("--mode", choices=["a", "b"])
    p.add_argument("--ratio", type=float)
    p.add_argument("--flag", action="store_true")
    p.add_argument("-v", action="count")
    if negative_option:
        p.add_argument("-1", dest="one", action="store_true")
    return p


TOY_CASES = [
    "--tp-size 4", "--tp 4", "--tp=4", "--tp-size=4", "--t 4", "--tok x", "--bs 1", "--bs-d 1",
    "--opt", "--opt x", "--opt --flag", "--opt=x", "--many", "--many a b --flag", "--some", "--some a b",
    "--some a --some b c", "--some=a", "--pair a", "--pair a b", "--pair=a", "--pair a --flag",
    "--mode a", "--mode c", "--mode=b", "--ratio 1e3", "--ratio x", "--tp-size -1", "--tp-size -x",
    "--tp-size -1.5", "--ratio -.5", "--flag", "--flag x", "--flag=1", "--fla", "-v", "-vv", "-v -v", "-vx",
    "--nope", "-x", "stray", "--tp-size 1 -- 2", "--", "--tp-size '1 2'", "--tp-size", "--tokenizer-path ''",
    "--tokenizer-path '-- x'", "--tp-size 3 --tp-size 5", "--tp-size $(N)", "-h-", "--bs-prefill=2 --bs-decode 3",
]


@pytest.mark.parametrize("negative_option", [False, True])
@pytest.mark.parametrize("case", TOY_CASES)
def test_toy_parser_agrees_with_argparse(case, negative_option):
    parser = toy_parser(negative_option)
    assert_agrees(catalog_from_parser(parser), parser, shlex.split(case))


# --- differential: parsers rebuilt from the shipped catalogs --------------------------------

SGLANG_CASES = [
    "--tp 2", "--tp-size=2 --dp 2", "--tensor-parallel-size 2", "--cuda-graph-max-bs 8", "--port -1",
    "--port x", "--port 8000 --port 9000", "--page-size", "--trust-remote-code yes", "--trust-remote-code=1",
    "--disaggregation-mode prefil", "--disaggregation-mode=decode", "--mem-fraction-static 0.8",
    "--mem-fraction-static 0,8", "--nnodes $(LWS_GROUP_SIZE)", "--enable-dp-attention", "--ep 4",
    "--moe-a2a-backend deepep", "--moe-a2a-backend none", "-tp 2", "--tp 2 extra", "--host 0.0.0.0 --",
    "--json-model-override-args {}", "--json-model-override-args '{x'", "--dist-init-addr $(LWS_LEADER_ADDRESS):5000",
]
ROUTER_CASES = [
    "--pd-disaggregation --prefill http://p:1 8998 --decode http://d:1",
    "--prefill http://p:1 --prefill http://q:1 none --decode http://d:1 --decode http://e:1",
    "--prefill", "--decode http://d:1 http://e:1", "--decode=http://d:1", "--prefill=http://p:1",
    "--port 8000 --host ::", "--pd", "--policy cache_aware", "--policy nope", "--worker-urls a b c",
]


def catalog_cases():
    for version in available_versions("sglang"):
        for case in SGLANG_CASES:
            yield pytest.param("sglang", version, "--model-path m " + case, id=f"sglang-{version}:{case}")
        yield pytest.param("sglang", version, "", id=f"sglang-{version}:<no model path>")
    for version in available_versions("sglang-router"):
        for case in ROUTER_CASES:
            yield pytest.param("sglang-router", version, case, id=f"router-{version}:{case}")


_PARSERS = {}


@pytest.mark.parametrize("program,version,case", list(catalog_cases()))
def test_catalog_parser_agrees_with_argparse(program, version, case):
    catalog = load_catalog(program, version)
    if (program, version) not in _PARSERS:
        _PARSERS[program, version] = parser_from_catalog(catalog)
    assert_agrees(catalog, _PARSERS[program, version], shlex.split(case))


# --- the reference deployment ---------------------------------------------------------------

@pytest.mark.parametrize("version", [OLDEST_SGLANG, "0.5.6.post2"])
@pytest.mark.parametrize("argv", [REF_PREFILL, REF_DECODE], ids=["prefill", "decode"])
def test_reference_parses_cleanly(version, argv):
    parsed = parse_argv(argv, load_catalog("sglang", version))
    assert parsed.problems == []

    def flag_value(flag):
        return parsed.value(parsed.dest_of(flag))

    assert [flag_value(f) for f in ("--tp-size", "--dp-size", "--page-size")] == [16, 16, 64]
    assert flag_value("--enable-dp-attention") is True
    assert flag_value("--disaggregation-bootstrap-port") == 8998  # catalog default


def test_reference_decode_in_newest_release():
    parsed = parse_argv(REF_DECODE, load_catalog("sglang", NEWEST_SGLANG))
    kinds = {(p.kind, p.flag) for p in parsed.problems}
    assert ("ambiguous", "--cuda-graph-max-bs") in kinds
    assert ("deprecated", "--enable-dp-attention") in kinds
    assert "--attn-dp-size" in next(p.detail for p in parsed.problems if p.kind == "deprecated")
    assert not any(p.kind == "unexpected-positional" for p in parsed.problems)  # '64' went with the flag


@pytest.mark.parametrize("version", [OLDEST_ROUTER, NEWEST_ROUTER])
def test_reference_router_parses(version):
    parsed = parse_argv(REF_ROUTER, load_catalog("sglang-router", version))
    assert parsed.problems == []
    assert parsed.value("prefill") == [["http://p:30000"]] and parsed.value("port") == 8000


# --- problem kinds and details ----------------------------------------------------------------

@pytest.mark.parametrize("argv,kind,needle", [
    (["--tp", "$(LWS_GROUP_SIZE)"], "bad-type", "unresolved $(VAR)"),
    (["--disaggregation-mode", "prefil"], "bad-choice", "choose from"),
    (["--trust-remote-code", "yes"], "unexpected-positional", "takes no value"),
    (["--page-size"], "missing-value", "expected one argument"),
    (["-tp", "2"], "unknown", "did you mean --tp"),
    (["--tp 2"], "unexpected-positional", "unrecognized"),  # one YAML item holding flag and value
])
def test_problem_details(argv, kind, needle):
    parsed = parse_argv(["--model-path", "m", *argv], load_catalog("sglang", "0.5.6.post2"))
    problem = next(p for p in parsed.problems if p.kind == kind)
    assert needle in problem.detail and problem.index >= 2


def test_values_and_occurrences():
    parsed = parse_argv(["--model-path", "m", "--tp", "2", "--tp-size=4"], load_catalog("sglang", NEWEST_SGLANG))
    assert parsed.value("tp_size") == 4 and [a.written for a in parsed.raw("tp_size")] == ["--tp", "--tp-size=4"]
    assert [a.index for a in parsed.raw("tp_size")] == [2, 4]
    assert parsed.raw("tp_size") and not parsed.raw("dp_size") and parsed.value("dp_size") == 1


# --- launchers --------------------------------------------------------------------------------

@pytest.mark.parametrize("command,program,flags", [
    ("python3 -m sglang.launch_server --tp 2", "sglang", ["--tp", "2"]),
    ("/usr/bin/python3.10 -u -m sglang.launch_server --tp 2", "sglang", ["--tp", "2"]),
    ("sglang serve --model-path m", "sglang", ["--model-path", "m"]),
    ("python -m sglang_router.launch_router --pd-disaggregation", "sglang-router", ["--pd-disaggregation"]),
    ("python -m sglang_router launch --port 1", "sglang-router", ["--port", "1"]),
    ("smg launch --port 1", "sglang-router", ["--port", "1"]),
    ("sglang-router launch --port 1", "sglang-router", ["--port", "1"]),
    ("env A=1 exec python3 -m sglang.launch_server --tp 2", "sglang", ["--tp", "2"]),
    ("python3 train.py --tp 2", None, ["python3", "train.py", "--tp", "2"]),
    ("python3 -m dynamo.sglang --tp 2", DYNAMO_SGLANG, ["--tp", "2"]),
    ("python3 -m dynamo.sglang.decode_worker --tp 2", DYNAMO_SGLANG, ["--tp", "2"]),
    ("python3 -m dynamo.sglang.worker --tp 2", DYNAMO_SGLANG, ["--tp", "2"]),
    ("python3 -m dynamo.vllm --tensor-parallel-size 2", None, ["python3", "-m", "dynamo.vllm", "--tensor-parallel-size", "2"]),
    ("python3 -m dynamo.frontend --http-port 8000", None, ["python3", "-m", "dynamo.frontend", "--http-port", "8000"]),
])
def test_split_launcher(command, program, flags):
    assert split_launcher(shlex.split(command)) == (program, flags)


def test_dynamo_worker_flags_are_sglang_flags_plus_dynamos():
    """dynamo.sglang hands what its own parser does not know to SGLang's (ai-dynamo/dynamo
    components/src/dynamo/sglang/args.py): its options are no SGLang problem, SGLang's are checked."""
    catalog = with_dynamo_options(load_catalog("sglang", NEWEST_SGLANG))
    argv = ["--model-path", "m", "--tp", "2", "--migration-limit", "3", "--no-use-sglang-tokenizer", "--connector", "nixl",
            "lmcache", "--endpoint", "dyn://ns.prefill.generate", "--disaggregation-mode", "prefill"]
    parsed = parse_argv(argv, catalog)
    assert parsed.problems == []
    assert parsed.value("tp_size") == 2 and parsed.value("disaggregation_mode") == "prefill"
    assert "unknown" in [p.kind for p in parse_argv(["--model-path", "m", "--tp-sise", "2"], catalog).problems]
    assert "unknown" in [p.kind for p in parse_argv(["--model-path", "m", "--migration-limit", "3"], load_catalog("sglang", NEWEST_SGLANG)).problems]
    assert with_dynamo_options(load_catalog("sglang", NEWEST_SGLANG)) is catalog
