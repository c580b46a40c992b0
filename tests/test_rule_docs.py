import re
from pathlib import Path

import pytest

from pdcheck.ruledocs import rules_markdown
from pdcheck.rules import all_rules

REPO = Path(__file__).resolve().parents[1]


def test_docs_rules_md_is_current():
    current = (REPO / "docs" / "rules.md").read_text(encoding="utf-8")
    assert current == rules_markdown(), "docs/rules.md is stale: run `python tools/gen_rules_doc.py`"


@pytest.mark.parametrize("rule", all_rules(), ids=lambda r: r.id)
def test_rule_metadata(rule):
    assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", rule.id)
    assert rule.summary and not rule.summary.endswith(".")
    assert len(rule.doc.split()) >= 25, "the doc must say why the rule matters"
    assert rule.links and all(link.startswith("https://") for link in rule.links)
