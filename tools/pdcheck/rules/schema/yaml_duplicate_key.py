from ...findings import Severity
from ..base import Problem, Rule


def check(model, ctx):
    for obj in model.render.objects:
        for dup in obj.duplicates:
            yield Problem(obj, (), f"key {dup.key!r} appears twice in one mapping (line {dup.line}); only the last one counts",
                          "delete or merge the duplicate key")


RULE = Rule(
    id="yaml-duplicate-key",
    severity=Severity.ERROR,
    summary="A YAML mapping repeats a key",
    doc="""YAML parsers disagree on duplicate keys: PyYAML and kubectl's older decoder keep the
last value silently, kustomize refuses the file, and `kubectl apply --validate=strict` rejects it.
A repeated `args:` or `env:` key usually means half of the intended settings are silently lost.""",
    links=("https://github.com/kubernetes/kubernetes/issues/117409",),
    check=check,
)
