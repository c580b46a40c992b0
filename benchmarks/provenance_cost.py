"""Cost of the provenance walk (tools/pdcheck/provenance.py) on the shipped overlays, in-process:
render once, then time the walk of every overlay, first with the files unread, then warm.

    PYTHONPATH=tools .venv/bin/python benchmarks/provenance_cost.py
"""
import statistics
import time

from pdcheck.discover import resolve_inputs
from pdcheck.render import render_all
from pdcheck import provenance
renders = render_all(resolve_inputs(["overlays/"]))
cold = time.perf_counter()
for r in renders:
    provenance.trace_render(r)
cold = time.perf_counter() - cold
warm = []
for _ in range(20):
    t = time.perf_counter()
    for r in renders:
        provenance.trace_render(r)
    warm.append(time.perf_counter() - t)
print(f"{len(renders)} overlays: first walk of all {cold*1000:.1f} ms (files read), later {statistics.median(warm)*1000:.1f} ms median")
