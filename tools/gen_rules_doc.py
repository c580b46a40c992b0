#!/usr/bin/env python3
"""Write docs/rules.md from the rule metadata."""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))

from pdcheck.ruledocs import rules_markdown  # noqa: E402

if __name__ == "__main__":
    (ROOT / "docs" / "rules.md").write_text(rules_markdown(), encoding="utf-8")
    print("wrote docs/rules.md")
