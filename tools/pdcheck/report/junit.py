"""JUnit XML for CI systems that show test reports (GitLab `artifacts:reports:junit`, Jenkins junit).

One <testsuite> per input (overlay, file, stdin). Each finding is a <testcase> (name: rule, object
and field path; classname: the input; file: the source file when known); an error finding carries a
<failure>, warnings and infos pass and say what they found in <system-out>, so the report fails
exactly when the exit code does (without --strict). An input with no finding is one passing
testcase, so a clean overlay shows as passed. An input that could not be checked is a testcase
with an <error> (the test could not run), with the file and kustomize's message.

Text from manifests goes through printable() (control characters are not even valid in XML 1.0);
ElementTree escapes the XML markup itself.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from ..errors import INPUT_ERROR_ID
from ..findings import Severity
from .escape import printable



def _finding_case(suite: ET.Element, f) -> str:
    """Adds the finding's testcase; returns its outcome ('failure' or 'passed')."""
    name = " ".join(part for part in (f.rule, printable(f.object), printable(f.path_text)) if part)
    case = ET.SubElement(suite, "testcase", name=name, classname=suite.get("name"))
    if f.file:
        case.set("file", printable(f.file))
    where = f"{printable(f.file)}:{f.line}" if f.file and f.line else printable(f.file or "")
    body = "\n".join(part for part in (where, printable(f.message, True),
                                       f"fix: {printable(f.fix, True)}" if f.fix else "") if part)
    if f.severity == Severity.ERROR:
        ET.SubElement(case, "failure", type=f.rule, message=printable(f.message)).text = body
        return "failure"
    ET.SubElement(case, "system-out").text = f"{f.severity.value}: {body}"
    return "passed"


def report(result, stream, color: bool = False) -> None:
    suites: dict[str, ET.Element] = {}
    counts: dict[str, dict[str, int]] = {}

    def suite_of(name: str) -> ET.Element:
        if name not in suites:
            suites[name] = ET.Element("testsuite", name=printable(name))
            counts[name] = {"tests": 0, "failures": 0, "errors": 0}
        return suites[name]

    for name in result.inputs:
        suite_of(name)
    for f in result.findings:
        name = f.overlay or "<input>"
        outcome = _finding_case(suite_of(name), f)
        counts[name]["tests"] += 1
        counts[name]["failures"] += outcome == "failure"
    for err in result.input_errors:
        name = err.file or "<input>"
        case = ET.SubElement(suite_of(name), "testcase", name=INPUT_ERROR_ID, classname=printable(name))
        ET.SubElement(case, "error", type=INPUT_ERROR_ID, message=printable(err.message)).text = printable(err, True)
        counts[name]["tests"] += 1
        counts[name]["errors"] += 1
    for name, suite in suites.items():
        if counts[name]["tests"] == 0:  # checked, nothing found
            ET.SubElement(suite, "testcase", name="pdcheck", classname=suite.get("name"))
            counts[name]["tests"] = 1

    root = ET.Element("testsuites", name="pdcheck")
    for key in ("tests", "failures", "errors"):
        root.set(key, str(sum(c[key] for c in counts.values())))
    for name, suite in suites.items():
        for key in ("tests", "failures", "errors"):
            suite.set(key, str(counts[name][key]))
        suite.set("skipped", "0")
        root.append(suite)
    ET.indent(root)
    stream.write('<?xml version="1.0" encoding="UTF-8"?>\n')
    stream.write(ET.tostring(root, encoding="unicode"))
    stream.write("\n")
