"""Flag catalogs of sglang / sglang-router releases, dumped from their real argparse parsers.

Runtime side: light, never imports sglang or torch. The JSON files in catalogs/ are written by
tools/dump_flag_catalogs.py (see docs/catalogs.md) and loaded lazily, once per version.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

CATALOG_DIR = Path(__file__).resolve().parent / "catalogs"

# Actions that never consume a value (argparse gives them nargs=0).
NO_VALUE_ACTIONS = frozenset({"store_true", "store_false", "store_const", "append_const", "count", "help", "version"})

# sglang images ship a router too, but their tag names the sglang release. Router release
# contemporary with each sglang release we ship a catalog for (by PyPI upload dates: the
# newest router uploaded before that sglang release).
ROUTER_FOR_SGLANG_RELEASE = {
    "0.4.10.post2": "0.1.8",
    "0.5.6.post2": "0.2.4",
    "0.5.23": "0.3.2",
}


class CatalogNotFound(KeyError):
    """No catalog file for this program/version."""


@dataclass(frozen=True)
class Option:
    dest: str
    option_strings: tuple[str, ...]
    action: str  # store, store_true, ..., or the class name of a custom action
    type: str | None  # int, float, str, json, or a custom callable's name
    choices: tuple[str, ...] | None
    default: object
    nargs: int | str | None
    deprecated: str | None  # None, or a message naming the replacement when known
    help: str
    required: bool = False
    const: object = None

    @property
    def takes_value(self) -> bool:
        return self.action not in NO_VALUE_ACTIONS and self.nargs != 0

    @property
    def name(self) -> str:
        """The first option string, as the parser declared it."""
        return self.option_strings[0] if self.option_strings else self.dest


@dataclass(frozen=True)
class Catalog:
    program: str
    version: str
    options: tuple[Option, ...]
    env_vars: frozenset[str]
    allow_abbrev: bool = True
    prefix_chars: str = "-"

    def __post_init__(self):
        by_string = {s: o for o in self.options for s in o.option_strings}
        object.__setattr__(self, "_by_option_string", by_string)
        negative_like = any(_NEGATIVE_NUMBER.match(s) for s in by_string)
        object.__setattr__(self, "has_negative_number_options", negative_like)

    @property
    def option_strings(self) -> dict[str, Option]:
        return self._by_option_string  # type: ignore[attr-defined]

    def by_dest(self, dest: str) -> list[Option]:
        return [o for o in self.options if o.dest == dest]

    def resolve(self, flag: str) -> Option | list[Option] | None:
        """Which option argparse would pick for `flag` (the flag part; '--x=v' is split).

        One match -> Option; several (ambiguous abbreviation) -> list; none -> None.
        """
        match = self.match_optional(flag)
        if match is None or match.option is None and not match.ambiguous:
            return None
        if match.ambiguous:
            return [self.option_strings[s] for s in match.ambiguous]
        return match.option

    def match_optional(self, arg: str) -> "OptionalMatch | None":
        """Mirror of CPython 3.11 argparse ArgumentParser._parse_optional.

        None: argparse treats `arg` as a positional value. Otherwise an OptionalMatch: option
        None and no ambiguity means an unknown option ('unrecognized arguments').
        """
        chars = self.prefix_chars
        if not arg or arg[0] not in chars:
            return None
        if arg in self.option_strings:
            return OptionalMatch(self.option_strings[arg], arg, None)
        if len(arg) == 1:
            return None
        if "=" in arg:
            option_string, explicit = arg.split("=", 1)
            if option_string in self.option_strings:
                return OptionalMatch(self.option_strings[option_string], option_string, explicit)
        tuples = self._option_tuples(arg)
        if len(tuples) > 1:
            return OptionalMatch(None, arg, None, ambiguous=tuple(s for s, _ in tuples))
        if len(tuples) == 1:
            (option_string, explicit), = tuples
            return OptionalMatch(self.option_strings[option_string], option_string, explicit)
        if _NEGATIVE_NUMBER.match(arg) and not self.has_negative_number_options:
            return None
        if " " in arg:
            return None
        return OptionalMatch(None, arg, None)

    def _option_tuples(self, arg: str) -> list[tuple[str, str | None]]:
        """Mirror of argparse _get_option_tuples: (option string, explicit value) candidates."""
        chars = self.prefix_chars
        result = []
        if arg[0] in chars and arg[1] in chars:
            if self.allow_abbrev:
                prefix, explicit = arg.split("=", 1) if "=" in arg else (arg, None)
                result = [(s, explicit) for s in self.option_strings if s.startswith(prefix)]
        else:  # single prefix char: '-x' may carry its value glued on ('-xVALUE')
            short_prefix, short_explicit = arg[:2], arg[2:]
            for s in self.option_strings:
                if s == short_prefix:
                    result.append((s, short_explicit))
                elif s.startswith(arg):
                    result.append((s, None))
        return result


@dataclass(frozen=True)
class OptionalMatch:
    option: Option | None
    option_string: str  # the matched option string (or the arg itself when unknown)
    explicit_value: str | None  # '--x=v' / '-xv' value
    ambiguous: tuple[str, ...] = ()


_NEGATIVE_NUMBER = re.compile(r"^-\d+$|^-\d*\.\d+$")  # argparse's _negative_number_matcher
# Version numbers come from image tags the user wrote: ASCII digits, at most 18 of them, so int() never
# meets a 5000-digit number (ValueError past CPython's 4300-digit limit).
_N = r"[0-9]{1,18}"
_VERSION_RE = re.compile(rf"^({_N}(?:\.{_N})*)(?:(a|b|rc)({_N}))?(?:\.post({_N}))?(?:\.dev({_N}))?$")


def version_key(version: str) -> tuple:
    """Sort key for the PEP 440 subset these projects use (0.5.6, 0.5.6.post2, 0.5.7rc1)."""
    match = _VERSION_RE.match(version)
    if not match:
        return ((-1,), version)
    release, pre_kind, pre_num, post, dev = match.groups()
    pre = (-1, {"a": 0, "b": 1, "rc": 2}[pre_kind], int(pre_num)) if pre_kind else (0,)
    return (tuple(int(p) for p in release.split(".")) + (0,) * (4 - release.count(".")),
            pre, int(post) if post else -1, -int(dev) - 1 if dev else 0)


def _catalog_files(program: str) -> dict[str, Path]:
    found = {}
    for path in CATALOG_DIR.glob(f"{program}-*.json"):
        version = path.stem[len(program) + 1:]
        if _VERSION_RE.match(version):  # 'sglang-router-0.3.2' must not count as sglang 'router-0.3.2'
            found[version] = path
    return found


def available_versions(program: str) -> list[str]:
    return sorted(_catalog_files(program), key=version_key)


@lru_cache(maxsize=None)
def load_catalog(program: str, version: str) -> Catalog:
    path = _catalog_files(program).get(version)
    if path is None:
        raise CatalogNotFound(f"no {program} catalog for version {version}; have {available_versions(program)}")
    data = json.loads(path.read_text(encoding="utf-8"))
    options = tuple(
        Option(
            dest=o["dest"],
            option_strings=tuple(o["option_strings"]),
            action=o["action"],
            type=o["type"],
            choices=tuple(o["choices"]) if o["choices"] is not None else None,
            default=o["default"],
            nargs=o["nargs"],
            deprecated=o["deprecated"],
            help=o["help"],
            required=o.get("required", False),
            const=o.get("const"),
        )
        for o in data["options"]
    )
    parser = data.get("parser", {})
    return Catalog(
        program=data["program"],
        version=data["version"],
        options=options,
        env_vars=frozenset(data["env_vars"]),
        allow_abbrev=parser.get("allow_abbrev", True),
        prefix_chars=parser.get("prefix_chars", "-"),
    )


_TAG_VERSION = re.compile(rf"^v?({_N}\.{_N}(?:\.{_N})*(?:(?:a|b|rc){_N})?(?:\.post{_N})?(?:\.dev{_N})?)(?=$|[-_+])")


def split_image(image: str) -> tuple[str, str | None, str | None]:
    """'repo:tag@sha256:...' -> (repo, tag, digest); tag and digest None when absent."""
    name, _, digest = image.partition("@")
    last_slash = name.rfind("/")
    if ":" in name[last_slash + 1:]:
        repo, tag = name.rsplit(":", 1)
        return repo, tag, digest or None
    return name, None, digest or None


def version_from_image(image: str) -> str | None:
    """'lmsysorg/sglang:v0.5.6.post2-cu129' -> '0.5.6.post2'; 'lmsysorg/sglang:deepep' -> None."""
    _, tag, _ = split_image(image.strip())
    if not tag:
        return None
    match = _TAG_VERSION.match(tag)
    return match.group(1) if match else None


def select_catalog(program: str, image: str | None, override: str | None) -> tuple[Catalog, str | None, bool]:
    """(catalog to check `program`'s flags against, a note on how it was chosen, guessed).

    `override` (a version) wins. Otherwise the version in the image tag: that catalog, else
    the newest one not newer than it. For the router inside an sglang image the tag names the
    sglang release, so it is mapped through ROUTER_FOR_SGLANG_RELEASE. `guessed` is True unless
    the catalog is the very release the override or the tag names: version-dependent findings on
    a guessed catalog are only warnings (a flag the guess lacks may exist in the real release).
    """
    versions = available_versions(program)
    if not versions:
        raise CatalogNotFound(f"no catalogs for {program}")
    if override:
        return load_catalog(program, override), None, False
    tag_version = version_from_image(image) if image and _is_sglang_image(image) else None
    if tag_version is None:
        newest = versions[-1]
        if not image:
            what = "no image given"
        elif not _is_sglang_image(image):
            what = f"image {image!r} is not an SGLang image, so its tag names no SGLang release"
        else:
            what = f"image tag {image!r} names no release"
        return load_catalog(program, newest), f"{what}; using {program} catalog {newest}", True
    note_prefix = ""
    exact_mapping = True
    if program == "sglang-router" and not _is_router_image(image):
        sglang_release = _newest_not_newer(list(ROUTER_FOR_SGLANG_RELEASE), tag_version)
        if sglang_release is None:
            oldest = versions[0]
            return load_catalog(program, oldest), (
                f"image is sglang {tag_version}, older than every router catalog; using {program} {oldest}"), True
        exact_mapping = sglang_release == tag_version
        tag_version = ROUTER_FOR_SGLANG_RELEASE[sglang_release]
        note_prefix = f"image is sglang {version_from_image(image)}; its router is taken to be {tag_version}; "
    if tag_version in versions:
        return load_catalog(program, tag_version), (note_prefix.rstrip("; ") or None), not exact_mapping
    chosen = _newest_not_newer(versions, tag_version)
    if chosen is None:
        chosen = versions[0]
        return load_catalog(program, chosen), (
            f"{note_prefix}no {program} catalog for {tag_version} or older; using the oldest, {chosen}"), True
    return load_catalog(program, chosen), (
        f"{note_prefix}no {program} catalog for {tag_version}; using {chosen}, the newest not newer than it"), True


def _newest_not_newer(versions: list[str], version: str) -> str | None:
    older = [v for v in versions if version_key(v) <= version_key(version)]
    return max(older, key=version_key) if older else None


def _is_sglang_image(image: str) -> bool:
    """Whether the image's own name says SGLang (lmsysorg/sglang, .../sglang-router, smg): only
    then does its tag name an SGLang release (ghcr.io/llm-d/llm-d-cuda:v0.4.0 is llm-d's 0.4.0)."""
    repo, _, _ = split_image(image)
    return "sglang" in repo.rsplit("/", 1)[-1] or _is_router_image(image)


def _is_router_image(image: str | None) -> bool:
    repo, _, _ = split_image(image or "")
    base = repo.rsplit("/", 1)[-1]
    return "router" in base or "gateway" in base or base in ("smg", "amg")
