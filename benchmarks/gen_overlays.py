"""Generate N overlays for the scaling benchmark: copies of overlays/h800-bond, each distinct.

    python benchmarks/gen_overlays.py 200 /tmp/pd-gen [namespace|nameprefix]   # -> /tmp/pd-gen/overlays/g000..g199

namespace (default): each copy deploys into its own namespace g000, g001...; the renders are as
clean as h800-bond itself. nameprefix: each copy gets `namePrefix: gNNN-`, which (on purpose of
the bundle) breaks the router's --prefill/--decode URLs, so every overlay has findings: the
worst case for lazy origins (each overlay is built a second time, with origin annotations).

The target gets symlinks base -> <repo>/base and profiles -> <repo>/profiles, so every generated
overlay renders the real bundle through the same relative paths (../../base, ../../profiles/...)
the shipped overlays use.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TEMPLATE = "h800-bond"


def generate(count: int, target: Path, vary: str = "namespace", template: str = TEMPLATE) -> Path:
    """Create target/overlays/g000.. (replacing any previous ones); returns target/overlays."""
    target.mkdir(parents=True, exist_ok=True)
    for shared in ("base", "profiles"):
        link = target / shared
        if not link.exists():
            os.symlink(REPO / shared, link)
    overlays = target / "overlays"
    if overlays.exists():
        shutil.rmtree(overlays)
    source = REPO / "overlays" / template
    for i in range(count):
        dest = overlays / f"g{i:03d}"
        shutil.copytree(source, dest)
        kfile = dest / "kustomization.yaml"
        text = kfile.read_text()
        if vary == "namespace":
            assert "\nnamespace: sglang-pd\n" in text, f"{source} no longer sets namespace: sglang-pd"
            text = text.replace("\nnamespace: sglang-pd\n", f"\nnamespace: g{i:03d}\n")
        elif vary == "nameprefix":
            text = f"namePrefix: g{i:03d}-\n" + text
        else:
            raise ValueError(f"vary must be namespace or nameprefix, not {vary!r}")
        kfile.write_text(text)
    return overlays


if __name__ == "__main__":
    if len(sys.argv) not in (3, 4):
        sys.exit(__doc__)
    print(generate(int(sys.argv[1]), Path(sys.argv[2]), *sys.argv[3:]))
