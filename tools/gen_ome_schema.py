"""Write tools/pdcheck/schemas/<kind>-ome-v1beta1.json from an OME CRD: the levels OME adds written out
strictly, every Kubernetes core type it embeds as a $ref to the bundled definitions.

    python tools/gen_ome_schema.py ../shared/reference/wrappers/ome-inferenceservice.yaml InferenceService \
        tools/pdcheck/schemas/inferenceservice-ome-v1beta1.json
"""
import json, sys
from pathlib import Path
import yaml
sys.path.insert(0, "tools")
from pdcheck.schema import bundle

REF = "https://kubernetes.io/api/_definitions.json#/$defs/"
defs_by_props = {}
for version in bundle.bundled_k8s_versions():
    d = bundle.load_definitions(version)
    for name, node in d.get("$defs", d.get("definitions", {})).items():
        if name.startswith("io.k8s.api.core.v1.") or name.startswith("io.k8s.apimachinery.pkg.apis.meta.v1."):
            props = frozenset((node.get("properties") or {}))
            if len(props) >= 2:
                defs_by_props.setdefault((props, frozenset(node.get("required") or ())), name)
REFS = 0

def convert(node, top=False):
    global REFS
    out = {}
    if node.get("x-kubernetes-int-or-string"):
        return {"anyOf": [{"type": "integer"}, {"type": "string"}]}
    if node.get("x-kubernetes-preserve-unknown-fields") and "properties" not in node:
        return {}
    t = node.get("type")
    if t == "object" and "properties" in node and not top:
        required = frozenset(r for r in node.get("required") or () if "default" not in node["properties"].get(r, {}))
        name = defs_by_props.get((frozenset(node["properties"]), required))
        if name:
            REFS += 1
            return {"$ref": REF + name}
    if t:
        out["type"] = t
    for k in ("enum", "format", "minimum", "maximum", "minItems", "maxItems", "pattern", "minLength", "maxLength"):
        if k in node:
            out[k] = node[k]
    if "properties" in node:
        out["properties"] = {k: convert(v) for k, v in node["properties"].items()}
        if not node.get("x-kubernetes-preserve-unknown-fields"):
            out["additionalProperties"] = False
        required = [r for r in node.get("required") or [] if "default" not in node["properties"].get(r, {})]
        if required:  # the API server fills a defaulted field before it validates
            out["required"] = required
    elif isinstance(node.get("additionalProperties"), dict):
        out["additionalProperties"] = convert(node["additionalProperties"])
    if "items" in node:
        out["items"] = convert(node["items"])
    if node.get("nullable"):
        if "type" in out:
            out["type"] = [out["type"], "null"]
    return out

crd_path, kind, out_path = sys.argv[1:]
crd = yaml.safe_load(Path(crd_path).read_text())
[version] = [v for v in crd["spec"]["versions"] if v["name"] == "v1beta1"]
root = version["schema"]["openAPIV3Schema"]
schema = convert(root, top=True)
schema["properties"]["apiVersion"] = {"const": "ome.io/v1beta1"}
schema["properties"]["kind"] = {"const": kind}
schema["properties"]["metadata"] = {"type": "object", "$ref": REF + "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"}
schema["required"] = sorted(set(schema.get("required", [])) | {"apiVersion", "kind"})
schema = {"$schema": "https://json-schema.org/draft/2020-12/schema", "title": f"{kind} ome.io/v1beta1",
          "$comment": (f"Generated for pdcheck from the CRD {Path(crd_path).name} (../shared/reference/wrappers/, "
                       "sgl-project/ome config/crd/full/ at 17b77ed): the levels OME adds are written out strictly "
                       "(unknown fields are errors), every object whose fields are exactly those of a Kubernetes core "
                       "type is a $ref to it, so it is checked per Kubernetes version. "
                       "Regenerate with tools/gen_ome_schema.py; tests/test_adapter_ome.py compares the fields with the CRD's."),
          **schema}
Path(out_path).write_text(json.dumps(schema, indent=1, sort_keys=False) + "\n")
print(out_path, REFS, Path(out_path).stat().st_size)
