from ...findings import Severity
from ..base import Problem, Rule
from ._helpers import aliases, counterpart, rewrites_sgl, sglang_env_uses


def _replacement(name: str, catalog) -> str | None:
    alias_of = aliases(catalog.version).get(name)
    if alias_of:
        return alias_of
    if name.startswith("SGL_") and rewrites_sgl(catalog.version) and counterpart(name) in catalog.env_vars:
        return counterpart(name)
    return None


def check(model, ctx):
    for obj, path, name, new, catalog, users, guess in sglang_env_uses(model, _replacement):
        yield Problem(obj, path,
                      f"{name} is a deprecated name in SGLang {catalog.version} ({', '.join(users)}): it only works through a start-up rewrite to {new}, which logs a deprecation warning{guess}",
                      f"rename it to {new}")


RULE = Rule(
    id="deprecated-sgl-env",
    severity=Severity.WARNING,
    summary="Deprecated SGL_* (or aliased SGLANG_*) variable name where the version reads the new name",
    doc="""From 0.5.6.post2 on, `sglang/srt/environ.py` copies every `SGL_X` variable to `SGLANG_X` at
import and warns that the `SGL_` name is deprecated (`_convert_SGL_to_SGLANG`, later
`_handle_deprecated_envs`); 0.5.23 also keeps a few renamed `SGLANG_` names alive through
`deprecated_name=` aliases, to be removed in a future release. The setting works today, but it
depends on a shim that is going away, and both spellings in one pod make it unclear which value
applies. Reported only when the release really reads the new name: 0.5.6.post2 still reads
`SGL_CHUNKED_PREFIX_CACHE_THRESHOLD` itself (models/deepseek_v2.py) and not the `SGLANG_` one, so
renaming it there would break it; 0.4.10.post2 has no rewrite at all.""",
    links=(
        "https://github.com/sgl-project/sglang/blob/v0.5.6.post2/python/sglang/srt/environ.py",
        "https://github.com/sgl-project/sglang/pull/14943",
    ),
    check=check,
)
