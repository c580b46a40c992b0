"""The options NVIDIA Dynamo's SGLang worker (`python3 -m dynamo.sglang`) takes besides SGLang's.

`dynamo.sglang` builds one argparse parser from Dynamo's option groups and SGLang's
`ServerArgs.add_cli_args`, then hands the arguments Dynamo does not know to SGLang's parser
(ai-dynamo/dynamo components/src/dynamo/sglang/args.py `parse_args` @d3aac63). So a worker's
command line is SGLang's flags plus these; pdcheck parses it with the SGLang catalog of the image
extended by the options below, and every SGLang rule reads it as it reads `sglang.launch_server`.

The list is the union over the releases read, so that a flag of an older or newer worker is not
reported as unknown (`unknown-flag` is an error; a missed typo in a Dynamo-only flag is the lesser cost):
- components/src/dynamo/common/configuration/groups/runtime_args.py `DynamoRuntimeArgGroup` @c6b40e7;
- components/src/dynamo/sglang/backend_args.py `DynamoSGLangArgGroup` @4f0f1bc (negatable booleans:
  `--x` and `--no-x`, dynamo/common/configuration/utils.py `add_negatable_bool_argument`);
- the older `DYNAMO_ARGS` table of components/src/dynamo/sglang/args.py (id 2432781369 in the
  search index; `--migration-limit`, `--store-kv`, `--dyn-endpoint-types`, `--config-key`, ...).
Dynamo's PD pairing goes through its own runtime (etcd/NATS or Kubernetes discovery), not
sglang_router: none of these options is read by a pdcheck rule.
"""

from __future__ import annotations

from .catalog import Catalog, Option

# option -> takes a value ("*" for nargs='*' lists)
_VALUE_OPTIONS = {
    "--namespace": None, "--endpoint": None, "--discovery-backend": None, "--request-plane": None,
    "--event-plane": None, "--connector": "*", "--dyn-tool-call-parser": None, "--dyn-reasoning-parser": None,
    "--custom-jinja-template": None, "--endpoint-types": None, "--dyn-endpoint-types": None,
    "--dump-config-to": None, "--multimodal-embedding-cache-capacity-gb": None, "--output-modalities": "*",
    "--media-output-fs-url": None, "--media-output-http-url": None, "--disagg-config": None,
    "--disagg-config-key": None, "--migration-limit": None, "--store-kv": None, "--enable-local-indexer": None,
    "--image-diffusion-fs-url": None, "--image-diffusion-base-url": None, "--config-key": None,
}
_NEGATABLE_BOOLEANS = (
    "--durable-kv-events", "--use-sglang-tokenizer", "--multimodal-processor", "--multimodal-encode-worker",
    "--multimodal-worker", "--embedding-worker", "--image-diffusion-worker", "--video-generation-worker",
)


def _options() -> tuple[Option, ...]:
    help_text = "NVIDIA Dynamo worker option (dynamo.sglang), not an SGLang server argument"
    out = [Option(flag.lstrip("-").replace("-", "_"), (flag,), "store", "str", None, None, nargs, None, help_text)
           for flag, nargs in _VALUE_OPTIONS.items()]
    for flag in _NEGATABLE_BOOLEANS:
        negated = "--no-" + flag[2:]
        out.append(Option(flag[2:].replace("-", "_"), (flag, negated), "BooleanOptionalAction", None, None, False, 0,
                          None, help_text))
    return tuple(out)


_EXTENDED: dict[int, tuple[Catalog, Catalog]] = {}  # id(SGLang catalog) -> (it, it with Dynamo's options)


def with_dynamo_options(catalog: Catalog) -> Catalog:
    """`catalog` (SGLang's) plus the options of Dynamo's worker that SGLang does not have itself."""
    cached = _EXTENDED.get(id(catalog))
    if cached is not None and cached[0] is catalog:
        return cached[1]
    known = set(catalog.option_strings)
    extra = tuple(o for o in _options() if not known.intersection(o.option_strings))
    extended = Catalog(catalog.program, catalog.version, catalog.options + extra, catalog.env_vars,
                       catalog.allow_abbrev, catalog.prefix_chars)
    _EXTENDED[id(catalog)] = (catalog, extended)
    return extended
