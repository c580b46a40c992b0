from ...findings import Severity
from ...objects import IGNORE_ANNOTATION
from ..base import Problem, Rule


def check(model, ctx):
    from .. import all_rules, nearest_rule_id

    known = {r.id for r in all_rules()} | {"all"}
    for obj in model.render.objects:
        for rule_id in sorted(obj.ignored_rules - known):
            nearest = nearest_rule_id(rule_id)
            hint = f"; did you mean {nearest!r}?" if nearest else ""
            yield Problem(obj, ("metadata", "annotations", IGNORE_ANNOTATION),
                          f"{IGNORE_ANNOTATION} names {rule_id!r}, which is not a pdcheck rule, so it suppresses nothing{hint}",
                          f"write {nearest!r}" if nearest else "write a rule id as `pdcheck rules` lists it, or remove it")


RULE = Rule(
    id="ignore-unknown-rule",
    severity=Severity.WARNING,
    summary="A pdcheck.io/ignore annotation names a rule pdcheck does not have",
    doc="""`pdcheck.io/ignore: "<rule-id>,..."` silences the rules it names on its object. A misspelt
id (`tp-gpu-missmatch`) or the id of a rule that was renamed silences nothing, so the finding it was
meant to acknowledge keeps appearing, or, worse, the author believes a deliberate exception is
recorded when it is not. Like kube-linter's and conftest's exceptions, an id that matches no rule is
reported, with the nearest known id. `all` is accepted and silences every rule on the object.""",
    links=("https://docs.kubelinter.io/#/configuring-kubelinter?id=ignoring-violations-for-specific-cases",),
    check=check,
)
