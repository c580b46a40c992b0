import os

from ...findings import Severity, format_path
from ...model import dig
from ...provenance import component_of, replaced_paths, stale_replacements, trace_of
from ..base import Problem, Rule


def check(model, ctx):
    trace = trace_of(model)
    if trace is None:
        return
    for rep in stale_replacements(trace):
        final, setting = trace.keys[rep.key]
        stale = [(obj, path) for obj in model.render.objects for path in replaced_paths(rep, obj)
                 if str(dig(obj.doc, *path)) == rep.copied]  # not overwritten by a later patch
        if not stale:
            continue
        key = rep.key[1]
        listed = trace.components.get(rep.kustomization)  # the `components:` entry that ran it
        changed_by = component_of(trace, setting.file)  # the entry that set the value afterwards
        fields = ", ".join(f"{obj.ref} {format_path(path)}" for obj, path in stale[:2])
        fields += f" and {len(stale) - 2} more field{'s' if len(stale) > 3 else ''}" if len(stale) > 2 else ""
        later = f"{changed_by.text[2:]} ({changed_by.where})" if changed_by else setting.file
        message = (f"the replacement at {rep.entry.where} copied {key}={rep.copied} into {fields} before {later} "
                   f"set {key}={final} ({setting.where}): kustomize runs components in the order listed, so "
                   f"these fields keep {rep.copied} while everything that reads {key} gets {final}")
        if listed and changed_by and listed.file == changed_by.file:
            fix = (f"in {listed.file}, list {listed.text[2:]} after {changed_by.text[2:]} (components run in order; "
                   f"the one with the replacements goes last)")
        elif changed_by:
            component = os.path.relpath(rep.kustomization, os.path.dirname(os.path.abspath(changed_by.file)))
            fix = f"in {changed_by.file}, list {component} after {changed_by.text[2:]} so the replacement copies the final {key}"
        else:
            fix = f"set {key} in a component listed before the one with the replacement ({rep.entry.file})"
        steps = (
            ("listed", listed.file, listed.line, f"{listed.text}: runs the replacement") if listed else
            ("copied", rep.entry.file, rep.entry.line, rep.entry.text),
            ("copied", rep.entry.file, rep.entry.line, f"copies {key}={rep.copied}"),
            ("set", setting.file, setting.line, f"{setting.text} ({setting.how}), after the copy"),
        )
        obj, path = stale[0]
        yield Problem(obj, path, message, fix, provenance=steps)


RULE = Rule(
    id="kustomize-replacement-order",
    severity=Severity.ERROR,
    summary="A kustomize replacement copied a value that a later component changed",
    doc="""kustomize applies an overlay's components in the order they are listed, each with its
own generators, patches and then `replacements`; a replacement copies the source field's value
*as it is when that component runs*. When a component listed after the one holding the replacement
changes the source (a `configMapGenerator` with `behavior: merge` setting `PD_PORT`), the copies
keep the old value: here the containerPort and the leader Services' ports stay at the old port
while the engines listen on the new one and the router dials it, which shows up as probes that
never pass and a router that cannot reach the engines. pdcheck walks the overlay in kustomize's
order (generators, then components in order, then patches and replacements), finds the copies that
still hold the old value in the render, and reports the order as the one cause; the probe and
router findings that only restate it are folded into this finding.""",
    links=(
        "https://github.com/kubernetes-sigs/kustomize/blob/kustomize/v5.4.3/api/internal/target/kusttarget.go",
        "https://kubectl.docs.kubernetes.io/references/kustomize/kustomization/replacements/",
        "https://kubectl.docs.kubernetes.io/guides/config_management/components/",
    ),
    check=check,
)
