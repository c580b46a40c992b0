from ...findings import Severity
from ..base import Problem, Rule
from ._helpers import SGLANG_PREFIXES, aliases, counterpart, did_you_mean, rewrites_sgl, sglang_env_uses


def _unread(name: str, catalog) -> bool | None:
    """True when SGLang of this catalog never reads `name`; None otherwise."""
    if not name.startswith(SGLANG_PREFIXES):
        return None
    read = catalog.env_vars
    if name in read or name in aliases(catalog.version):
        return None
    if name.startswith("SGL_"):
        rewrite = rewrites_sgl(catalog.version)
        if rewrite is None:
            return None  # unknown whether this release maps SGL_ to SGLANG_: stay silent
        if rewrite and counterpart(name) in read:
            return None  # read through the SGL_ -> SGLANG_ rewrite (deprecated-sgl-env reports it)
    return True


def check(model, ctx):
    for obj, path, name, _, catalog, users, guess in sglang_env_uses(model, _unread):
        hint = did_you_mean(name, catalog.env_vars | set(aliases(catalog.version)))
        suggestion = f"did you mean {hint}? " if hint else ""
        yield Problem(obj, path,
                      f"{name} is read nowhere in SGLang {catalog.version}, so it has no effect on {', '.join(users)}{guess}",
                      f"{suggestion}Remove it, or use the name this release reads (see sglang/srt/environ.py of {catalog.version})")


RULE = Rule(
    id="unread-sglang-env",
    severity=Severity.WARNING,
    summary="SGLANG_*/SGL_* variable the pinned SGLang version never reads",
    doc="""SGLang reads its tuning knobs from `SGLANG_*` (historically `SGL_*`) environment variables.
A name the release does not read is silently ignored: the setting you tuned for does not apply, and
nobody notices until performance or behaviour differs. The reference deployment sets
`SGLANG_MOONCAKE_TRANS_THREAD` and `SGLANG_HACK_DEEPEP_NUM_SMS` / `SGLANG_HACK_DEEPEP_NEW_MODE`,
which no Python file of 0.5.6.post2 reads, and names renamed between releases (0.4.10 reads
`SGL_ENABLE_JIT_DEEPGEMM`, 0.5.x `SGLANG_ENABLE_JIT_DEEPGEMM`) break on upgrade.

The list of names read comes from the flag catalog of the engine's version (`env_vars`: an AST scan
of the installed package plus `sglang/srt/environ.py`), plus the deprecated aliases declared with
`deprecated_name=` (0.5.23). From 0.5.6.post2 on, `environ.py` copies every `SGL_X` to `SGLANG_X`
at import, so an `SGL_X` counts as read when `SGLANG_X` is (see `deprecated-sgl-env`); for releases
between 0.4.10.post2 and 0.5.6.post2 whether that rewrite exists is not known and `SGL_` names are
not reported. Only `SGLANG_`/`SGL_` names are checked (the bundle's own `PD_*` ConfigMap values and
NCCL/NVSHMEM/Mooncake variables are not SGLang's). Names read only by other packages of the image
are not in the catalog: silence a deliberate one with `pdcheck.io/ignore: unread-sglang-env`.""",
    links=(
        "https://github.com/sgl-project/sglang/blob/v0.5.6.post2/python/sglang/srt/environ.py",
        "https://github.com/sgl-project/sglang/blob/v0.4.10.post2/python/sglang/srt/layers/quantization/deep_gemm_wrapper/configurer.py",
    ),
    check=check,
)
