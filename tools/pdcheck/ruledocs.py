"""docs/rules.md, generated from rule metadata (kube-linter style) so docs cannot drift from code.

Regenerate with `python tools/gen_rules_doc.py` (or `make docs`).
"""

from __future__ import annotations

from .rules import all_rules

HEADER = """# pdcheck rules

Generated from the rule metadata by `python tools/gen_rules_doc.py`; do not edit by hand.
Each rule can be set to `off`, `error`, `warning` or `info` in `.pdcheck.yaml`, or silenced on one
object with the annotation `pdcheck.io/ignore: "<rule-id>,..."`.
"""


def rules_markdown() -> str:
    rules = all_rules()
    out = [HEADER, "| rule | severity | category | summary |", "| --- | --- | --- | --- |"]
    out += [f"| [`{r.id}`](#{r.id}) | {r.severity.value} | {r.category} | {r.summary} |" for r in rules]
    for r in rules:
        out += ["", f"## {r.id}", "", f"*{r.severity.value}, {r.category}.* {r.summary}.", "", r.doc.strip(), "", "Sources:", ""]
        out += [f"- <{link}>" for link in r.links]
    return "\n".join(out) + "\n"
