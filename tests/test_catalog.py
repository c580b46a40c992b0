"""Shipped catalogs, prefix resolution, image-tag version selection."""

import json

import pytest

from pdcheck.catalog import (CATALOG_DIR, CatalogNotFound, Option, available_versions, load_catalog,
                             select_catalog, version_from_image, version_key)

SGLANG = available_versions("sglang")
ROUTER = available_versions("sglang-router")
NEWEST = SGLANG[-1]


def test_shipped_versions():
    assert "0.5.6.post2" in SGLANG and len(SGLANG) == 3 and NEWEST == "0.5.23"
    assert len(ROUTER) == 3 and ROUTER[-1] == "0.3.2"


@pytest.mark.parametrize("path", sorted(CATALOG_DIR.glob("*.json")), ids=lambda p: p.name)
def test_catalog_files_are_canonical(path):
    data = json.loads(path.read_text())
    assert path.read_text() == json.dumps(data, indent=1, sort_keys=True, ensure_ascii=False) + "\n"
    assert path.name == f"{data['program']}-{data['version']}.json"
    firsts = [o["option_strings"][0] for o in data["options"]]
    assert firsts == sorted(firsts) and data["env_vars"] == sorted(set(data["env_vars"]))


@pytest.mark.parametrize("versions", [["0.5.6", "0.5.6.post2", "0.5.10", "0.5.7rc1", "0.4.10.post2", "0.5.7"]])
def test_version_order(versions):
    assert sorted(versions, key=version_key) == ["0.4.10.post2", "0.5.6", "0.5.6.post2", "0.5.7rc1", "0.5.7", "0.5.10"]


@pytest.mark.parametrize("version,flag,expected", [
    (NEWEST, "--tp", "--tp-size"),
    (NEWEST, "--dp", "--dp-size"),
    (NEWEST, "--tp=4", "--tp-size"),
    (NEWEST, "--ep", "--ep-size"),  # declared alias, exact match beats the prefix rule
    (NEWEST, "--cuda-graph-max-bs", ["--cuda-graph-max-bs-decode", "--cuda-graph-max-bs-prefill"]),
    (NEWEST, "--tensor-parallel", "--tp-size"),
    (NEWEST, "-h", "-h"),
    (NEWEST, "--no-such-flag", None),
    (NEWEST, "-1", None),  # looks like a negative number: a value, not an option
    (NEWEST, "--tp 2", None),  # contains a space and matches nothing: a positional
    ("0.5.6.post2", "--tp", "--tensor-parallel-size"),
    ("0.5.6.post2", "--cuda-graph-max-bs", "--cuda-graph-max-bs"),
])
def test_resolve(version, flag, expected):
    found = load_catalog("sglang", version).resolve(flag)
    if isinstance(expected, list):
        assert sorted(o.option_strings[0] for o in found) == expected
    elif expected is None:
        assert found is None
    else:
        assert isinstance(found, Option) and expected in found.option_strings


def test_enable_dp_attention_deprecated_in_newest():
    option = load_catalog("sglang", NEWEST).resolve("--enable-dp-attention")
    assert "--attn-dp-size" in option.deprecated and not option.takes_value
    assert load_catalog("sglang", "0.5.6.post2").resolve("--enable-dp-attention").deprecated is None


@pytest.mark.parametrize("program,flag,takes_value,nargs,action", [
    ("sglang-router", "--prefill", True, "+", "append"),
    ("sglang-router", "--decode", True, 1, "append"),
    ("sglang-router", "--pd-disaggregation", False, 0, "store_true"),
    ("sglang", "--trust-remote-code", False, 0, "store_true"),
    ("sglang", "--tp-size", True, None, "store"),
])
def test_option_shapes(program, flag, takes_value, nargs, action):
    option = load_catalog(program, available_versions(program)[-1]).resolve(flag)
    assert (option.takes_value, option.nargs, option.action) == (takes_value, nargs, action)


def test_env_vars_and_unknown_version():
    assert "SGLANG_ENABLE_JIT_DEEPGEMM" in load_catalog("sglang", "0.5.6.post2").env_vars
    assert "SGLANG_MOONCAKE_TRANS_THREAD" not in load_catalog("sglang", "0.5.6.post2").env_vars
    with pytest.raises(CatalogNotFound):
        load_catalog("sglang", "9.9.9")
    assert isinstance(CatalogNotFound("x"), KeyError)


@pytest.mark.parametrize("image,version", [
    ("lmsysorg/sglang:v0.5.6.post2-cu129", "0.5.6.post2"),
    ("lmsysorg/sglang:v0.5.23", "0.5.23"),
    ("lmsysorg/sglang:0.4.10.post2-cu126-amd64", "0.4.10.post2"),
    ("registry:5000/team/sglang:v0.5.9@sha256:" + "a" * 64, "0.5.9"),
    ("lmsysorg/sglang:deepep", None),
    ("lmsysorg/sglang:latest", None),
    ("lmsysorg/sglang@sha256:" + "a" * 64, None),
    ("registry:5000/sglang", None),
    ("lmsysorg/sglang:nightly-dev-20260101", None),
    ("lmsysorg/sglang:0.5.6-rocm630", "0.5.6"),
    ("lmsysorg/sglang:v0.5.6.post2-cu129-gb200", "0.5.6.post2"),
    ("lmsysorg/sglang:v0.5.7rc1", "0.5.7rc1"),
    ("lmsysorg/sglang:dev-cu13", None),
    ("lmsysorg/sglang:blackwell", None),
])
def test_version_from_image(image, version):
    assert version_from_image(image) == version


@pytest.mark.parametrize("program,image,override,chosen,note,guessed", [
    ("sglang", "lmsysorg/sglang:v0.5.6.post2-cu129", None, "0.5.6.post2", None, False),
    ("sglang", "lmsysorg/sglang:0.5.6.post2-rocm630-mi30x", None, "0.5.6.post2", None, False),
    ("sglang", "lmsysorg/sglang:v0.5.9-cu129", None, "0.5.6.post2", "newest not newer", True),
    ("sglang", "lmsysorg/sglang:deepep", None, NEWEST, "names no release", True),
    ("sglang", "lmsysorg/sglang:latest", None, NEWEST, "names no release", True),
    ("sglang", "lmsysorg/sglang:nightly-dev-20251106-4b4b0ab0", None, NEWEST, "names no release", True),
    ("sglang", "lmsysorg/sglang", None, NEWEST, "names no release", True),
    ("sglang", None, None, NEWEST, "no image", True),
    ("sglang", "ghcr.io/llm-d/llm-d-cuda:v0.4.0", None, NEWEST, "not an SGLang image", True),
    ("sglang", "registry:5000/team/sglang:v0.5.6.post2", None, "0.5.6.post2", None, False),
    ("sglang", "lmsysorg/sglang:deepep", "0.5.6.post2", "0.5.6.post2", None, False),
    ("sglang", "lmsysorg/sglang:v0.1.0", None, SGLANG[0], "oldest", True),
    ("sglang-router", "lmsysorg/sglang:v0.5.6.post2-cu129", None, "0.2.4", "its router", False),
    ("sglang-router", "lmsysorg/sglang:v0.5.9-cu129", None, "0.2.4", "its router", True),
    ("sglang-router", "lmsysorg/sglang-router:v0.3.2", None, "0.3.2", None, False),
])
def test_select_catalog(program, image, override, chosen, note, guessed):
    catalog, message, was_guessed = select_catalog(program, image, override)
    assert catalog.version == chosen and was_guessed is guessed
    assert (message is None) if note is None else (note in message)
