"""Findings point at the line that set the value (issue 16): every way a value reaches the pod
through kustomize, checked on real renders; and one finding for one cause."""

import json
import os
import shutil
from pathlib import Path

import jsonschema
from typer.testing import CliRunner

from pdcheck.cli import app
from pdcheck.discover import resolve_inputs
from pdcheck.provenance import trace_overlay
from pdcheck.render import render_all

REPO = Path(__file__).resolve().parents[1]
runner = CliRunner()
PROFILES = ("profiles/fabric/roce-bond", "profiles/model/deepseek-r1-0528", "profiles/size/prefill-2x8",
            "profiles/size/decode-2x8")


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def bundle_overlay(root: Path, site: str, *, own: str = "", site_last: bool = False, files: dict | None = None) -> Path:
    """An overlay of the bundle like the README's "Compose your own overlay": base, four profiles,
    a site/ component with `site`'s text, profiles/wiring (before site when site_last)."""
    overlay = root / "my-cluster"
    rel = os.path.relpath(REPO, overlay)
    components = [f"{rel}/{p}" for p in PROFILES]
    components += [f"{rel}/profiles/wiring", "site"] if site_last else ["site", f"{rel}/profiles/wiring"]
    write(overlay / "kustomization.yaml",
          f"resources: [{rel}/base]\ncomponents:\n" + "".join(f"- {c}\n" for c in components) + own)
    write(overlay / "site" / "kustomization.yaml",
          "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\n" + site)
    for name, text in (files or {}).items():
        write(overlay / "site" / name, text)
    return overlay


def validate(path: Path) -> tuple[int, list[dict]]:
    result = runner.invoke(app, ["validate", "--format", "json", "--no-cache", str(path)])
    return result.exit_code, json.loads(result.stdout)["findings"]


def line_of(path: Path, text: str) -> int:
    """The 1-based line of `path` that holds `text` (exactly once)."""
    hits = [i for i, line in enumerate(path.read_text().splitlines(), 1) if text in line]
    assert len(hits) == 1, (path, text, hits)
    return hits[0]


def only(findings: list[dict], rule: str, obj: str = "") -> dict:
    matches = [f for f in findings if f["rule"] == rule and f["object"].endswith(obj)]
    assert len(matches) == 1, [(f["rule"], f["object"], f["file"], f["line"]) for f in findings]
    return matches[0]


def assert_points_at(finding: dict, file: Path, text: str, setting: str) -> None:
    assert Path(finding["file"]).resolve() == file.resolve(), finding
    assert finding["line"] == line_of(file, text), finding
    assert setting in finding["message"] and setting in finding["fix"], finding
    roles = [step["role"] for step in finding["provenance"]]
    assert roles[0] == "set" and "used" in roles, finding["provenance"]


DECODE_TP_12 = """configMapGenerator:
- name: sglang-decode
  behavior: merge
  literals:
  - PD_TP=12
"""


def test_generator_literal_in_a_component(tmp_path):
    overlay = bundle_overlay(tmp_path, DECODE_TP_12)
    code, findings = validate(overlay)
    assert code == 1
    tp = only(findings, "tp-gpu-mismatch", "sglang-decode")
    assert_points_at(tp, overlay / "site" / "kustomization.yaml", "PD_TP=12", "PD_TP")
    assert "set PD_TP to 16" in tp["fix"]
    used = next(s for s in tp["provenance"] if s["role"] == "used")
    template = REPO / "base" / "engines" / "template.yaml"
    assert Path(used["file"]).resolve() == template and "$(PD_TP)" in template.read_text().splitlines()[used["line"] - 1]
    # Without h800-bond's cuda-graphs component the CUDA-graph batch is too small at tp 16 too:
    # a finding the fix would not remove is not folded into it.
    assert not [s for s in tp["provenance"] if s["role"] == "caused"]
    only(findings, "cuda-graph-max-bs-below-running", "sglang-decode")


def copy_of_h800_bond(root: Path) -> Path:
    """overlays/h800-bond copied out of the repository, as a user starts their own overlay."""
    overlay = root / "my-cluster"
    shutil.copytree(REPO / "overlays" / "h800-bond", overlay)
    kustomization = overlay / "kustomization.yaml"
    kustomization.write_text(kustomization.read_text().replace("../../", os.path.relpath(REPO, overlay) + "/"))
    return overlay


def test_the_issue_overlay_one_finding_at_the_site_line(tmp_path):
    """Issue 16's report: h800-bond copied, decode PD_TP=12 in site/."""
    overlay = copy_of_h800_bond(tmp_path)
    site = overlay / "site" / "kustomization.yaml"
    site.write_text(site.read_text().replace(
        "patches:", "- name: sglang-decode\n  behavior: merge\n  literals: [PD_TP=12]\npatches:"))
    code, findings = validate(overlay)
    assert code == 1
    (tp,) = findings
    assert tp["rule"] == "tp-gpu-mismatch"
    assert_points_at(tp, site, "PD_TP=12", "PD_TP")
    assert "set PD_TP to 16" in tp["fix"]
    # tp 12 also makes 12 attention-DP groups (--dp-size $(PD_TP)): at PD_TP=16 these are gone too
    folded = {s["text"].split("]")[0][1:] for s in tp["provenance"] if s["role"] == "caused"}
    assert folded == {"cuda-graph-max-bs-below-running", "weights-exceed-static-budget"}


def test_env_file_of_a_generator(tmp_path):
    site = "configMapGenerator:\n- name: sglang-decode\n  behavior: merge\n  envs: [decode.env]\n"
    overlay = bundle_overlay(tmp_path, site, files={"decode.env": "# decode on this cluster\nPD_TP=12\n"})
    _, findings = validate(overlay)
    assert_points_at(only(findings, "tp-gpu-mismatch", "sglang-decode"), overlay / "site" / "decode.env", "PD_TP=12", "PD_TP")


def test_merge_in_the_overlay_itself(tmp_path):
    # An overlay's own generators run before its components (kustomize >= 5.1), so profiles/wiring
    # copies this PD_PORT: the engines and the Services agree, but the port is a node port.
    own = "configMapGenerator:\n- name: sglang-pd-common\n  behavior: merge\n  literals: [PD_PORT=31000]\n"
    model_path = "configMapGenerator:\n- name: sglang-pd-common\n  behavior: merge\n  literals: [PD_MODEL_PATH=/models/r1]\n"
    overlay = bundle_overlay(tmp_path, model_path, own=own)
    code, findings = validate(overlay)
    assert code == 0 and "kustomize-replacement-order" not in {f["rule"] for f in findings}
    for role in ("sglang-prefill", "sglang-decode"):
        finding = only(findings, "hostnetwork-port-in-nodeport-range", role)
        assert_points_at(finding, overlay / "kustomization.yaml", "PD_PORT=31000", "PD_PORT")


def test_json_patch_and_strategic_merge_patch_of_the_config_map(tmp_path):
    site = """patches:
- target: {kind: ConfigMap, name: sglang-decode}
  patch: |-
    - op: replace
      path: /data/PD_TP
      value: "12"
- path: prefill-tp.yaml
"""
    prefill = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: sglang-prefill\ndata:\n  PD_TP: \"24\"\n"
    overlay = bundle_overlay(tmp_path, site, files={"prefill-tp.yaml": prefill})
    _, findings = validate(overlay)
    assert_points_at(only(findings, "tp-gpu-mismatch", "sglang-decode"), overlay / "site" / "kustomization.yaml",
                     'value: "12"', "PD_TP")
    assert_points_at(only(findings, "tp-gpu-mismatch", "sglang-prefill"), overlay / "site" / "prefill-tp.yaml",
                     'PD_TP: "24"', "PD_TP")


def test_the_walk_agrees_with_kustomize_on_every_shipped_overlay():
    """Every key the walk attributes has the rendered value (trace_overlay without the render to
    check against, compared here with the render)."""
    for item in resolve_inputs([str(REPO / "overlays")]):
        (render,) = render_all([item])
        rendered = {o.name: o.doc.get("data") or {} for o in render.objects if o.kind == "ConfigMap"}
        trace = trace_overlay(item.path)
        checked = 0
        for name, data in rendered.items():
            for key, value in data.items():
                found = trace.setting(name, key)
                assert found is not None and found[0] == str(value), (item.display, name, key, found)
                checked += 1
        assert checked > 10


def user_overlay(root: Path, probe_port: str) -> Path:
    """An overlay written from scratch, no bundle file in it: its own base, a component that merges
    a key and copies it with `replacements` into the readiness probe."""
    write(root / "base" / "kustomization.yaml",
          "resources: [lws.yaml]\ngeneratorOptions: {disableNameSuffixHash: true}\n"
          "configMapGenerator:\n- name: engine\n  literals: [TP=8, PORT=28000, PROBE_PORT=28000]\n")
    write(root / "base" / "lws.yaml", """apiVersion: leaderworkerset.x-k8s.io/v1
kind: LeaderWorkerSet
metadata: {name: llm}
spec:
  leaderWorkerTemplate:
    size: 1
    workerTemplate:
      spec:
        containers:
        - name: sglang
          image: lmsysorg/sglang:v0.5.6.post2-cu129
          envFrom:
          - configMapRef: {name: engine}
          command: [python3, -m, sglang.launch_server, --model-path, /m, --port, $(PORT), --tp-size, $(TP)]
          ports:
          - {name: http, containerPort: 28000, protocol: TCP}
          readinessProbe:
            httpGet: {path: /health, port: 28000}
          resources:
            limits: {nvidia.com/gpu: 8}
          volumeMounts: [{name: shm, mountPath: /dev/shm}]
        volumes: [{name: shm, emptyDir: {medium: Memory, sizeLimit: 8Gi}}]
""")
    write(root / "tuning" / "kustomization.yaml", f"""apiVersion: kustomize.config.k8s.io/v1alpha1
kind: Component
configMapGenerator:
- name: engine
  behavior: merge
  literals:
  - TP=12
  - PROBE_PORT={probe_port}
replacements:
- source: {{kind: ConfigMap, name: engine, fieldPath: data.PROBE_PORT}}
  targets:
  - select: {{kind: LeaderWorkerSet}}
    fieldPaths:
    - spec.leaderWorkerTemplate.workerTemplate.spec.containers.[name=sglang].readinessProbe.httpGet.port
""")
    return write(root / "overlay" / "kustomization.yaml", "resources: [../base]\ncomponents: [../tuning]\n").parent


def test_a_user_written_overlay_literal_and_replacement(tmp_path):
    overlay = user_overlay(tmp_path, "28001")
    _, findings = validate(overlay)
    tuning = tmp_path / "tuning" / "kustomization.yaml"
    tp = only(findings, "tp-gpu-mismatch")
    assert_points_at(tp, tuning, "TP=12", "TP")
    assert "set TP to 8" in tp["fix"]
    probe = only(findings, "probe-port-not-served")
    assert_points_at(probe, tuning, "PROBE_PORT=28001", "PROBE_PORT")
    copied = next(s for s in probe["provenance"] if s["role"] == "copied")
    assert copied["line"] == line_of(tuning, "- source:")


def test_a_user_written_overlay_near_miss(tmp_path):
    """The same overlay with a probe port that matches: no probe finding, nothing attributed to it."""
    _, findings = validate(user_overlay(tmp_path, "28000"))
    assert "probe-port-not-served" not in {f["rule"] for f in findings}


PORT_31000 = """configMapGenerator:
- name: sglang-pd-common
  behavior: merge
  literals:
  - PD_PORT=31000
"""


def test_wiring_listed_before_site_is_one_finding(tmp_path):
    overlay = bundle_overlay(tmp_path, PORT_31000, site_last=True)
    code, findings = validate(overlay)
    assert code == 1
    errors = [f for f in findings if f["severity"] == "error"]
    assert [f["rule"] for f in errors] == ["kustomize-replacement-order"]
    (cause,) = errors
    kustomization = overlay / "kustomization.yaml"
    assert Path(cause["file"]).resolve() == kustomization.resolve()
    assert cause["line"] == line_of(kustomization, "profiles/wiring")
    assert "PD_PORT=28000" in cause["message"] and "PD_PORT=31000" in cause["message"]
    assert "list" in cause["fix"] and "after site" in cause["fix"]
    folded = sorted(s["text"].split("]")[0][1:] for s in cause["provenance"] if s["role"] == "caused")
    assert folded == ["probe-port-not-served"] * 4 + ["router-url-port"] * 2
    # 31000 is a node port: a separate problem, kept, and located at the site line
    for f in findings:
        if f["rule"] == "hostnetwork-port-in-nodeport-range":
            assert f["line"] == line_of(overlay / "site" / "kustomization.yaml", "PD_PORT=31000")


def test_the_issue_wiring_order(tmp_path):
    """Issue 16's report: h800-bond copied, site listed after profiles/wiring, PD_PORT=31000."""
    overlay = copy_of_h800_bond(tmp_path)
    kustomization = overlay / "kustomization.yaml"
    text = kustomization.read_text().replace("- site\n", "")
    kustomization.write_text(text.replace("profiles/wiring\n", "profiles/wiring\n- site\n"))
    site = overlay / "site" / "kustomization.yaml"
    site.write_text(site.read_text().replace("  - PD_MODEL_PATH=", "  - PD_PORT=31000\n  - PD_MODEL_PATH="))
    code, findings = validate(overlay)
    assert code == 1
    assert [f["rule"] for f in findings if f["severity"] == "error"] == ["kustomize-replacement-order"]
    assert {f["rule"] for f in findings if f["severity"] != "error"} == {"hostnetwork-port-in-nodeport-range"}


def test_wiring_last_near_miss(tmp_path):
    """The same PD_PORT with profiles/wiring listed last: the copies agree, no order finding."""
    _, findings = validate(bundle_overlay(tmp_path, PORT_31000))
    rules = {f["rule"] for f in findings}
    assert "hostnetwork-port-in-nodeport-range" in rules
    assert not rules & {"kustomize-replacement-order", "probe-port-not-served", "router-url-port"}


def test_text_output_shows_where_it_was_set_and_used(tmp_path):
    overlay = bundle_overlay(tmp_path, DECODE_TP_12)
    out = runner.invoke(app, ["validate", "--no-cache", str(overlay)]).stdout
    assert "    set: " in out and "PD_TP=12 (configMapGenerator sglang-decode, behavior: merge)" in out
    assert "    used: base/engines/template.yaml:" in out
    assert "caused:" not in out


def test_sarif_carries_the_provenance_as_related_locations(tmp_path):
    overlay = bundle_overlay(tmp_path, DECODE_TP_12)
    result = runner.invoke(app, ["validate", "--format", "sarif", "--no-cache", str(overlay)])
    log = json.loads(result.stdout)
    schema = json.loads((REPO / "tests" / "data" / "sarif" / "sarif-schema-2.1.0.json").read_text())
    assert not list(jsonschema.Draft4Validator(schema).iter_errors(log))
    (tp,) = [r for r in log["runs"][0]["results"] if r["ruleId"] == "tp-gpu-mismatch"]
    related = tp["relatedLocations"]
    assert related[0]["message"]["text"].startswith("set: PD_TP=12")
    assert related[0]["physicalLocation"]["region"]["startLine"] == line_of(overlay / "site" / "kustomization.yaml", "PD_TP=12")
    assert any(r["message"]["text"].startswith("used: ") for r in related)
