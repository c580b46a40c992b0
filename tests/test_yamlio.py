import pytest

from pdcheck.errors import InputError
from pdcheck.yamlio import MAX_INPUT_BYTES, load_documents, read_text


def test_duplicate_keys_are_recorded_with_lines():
    (doc,) = load_documents("a: 1\nb:\n  c: 1\n  c: 2\na: 3\n", "t.yaml")
    assert doc.data == {"a": 3, "b": {"c": 2}}
    assert [(d.key, d.line) for d in doc.duplicates] == [("c", 4), ("a", 5)]


def test_dates_stay_strings_like_kubernetes():
    (doc,) = load_documents("v: 2024-01-02\nt: 2001-12-14t21:59:43.10-05:00\n", "t")
    assert doc.data == {"v": "2024-01-02", "t": "2001-12-14t21:59:43.10-05:00"}


def test_document_positions_and_empty_documents():
    docs = load_documents("---\na: 1\n---\n---\nb: 2\n", "t")
    assert [(d.index, d.data) for d in docs] == [(0, {"a": 1}), (1, None), (2, {"b": 2})]
    assert docs[2].line == 5


BOMB = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join([f'*{chr(97 + i)}'] * 9)}]\n" for i in range(8)
)


@pytest.mark.parametrize("text, message", [
    ("a: b\n\tc: d\n", "line 2"),
    ("a: [1, 2\n", "invalid YAML"),
    (BOMB, "alias bomb"),
    ("&a [*a]", "alias bomb"),
    ("[" * 5000 + "]" * 5000, "invalid YAML"),
    ("key: *undefined\n", "undefined alias"),
])
def test_unreadable_yaml_is_one_input_error(text, message):
    with pytest.raises(InputError) as err:
        load_documents(text, "bad.yaml")
    assert err.value.file == "bad.yaml" and message in err.value.message
    assert "\n" not in str(err.value)


def test_read_text_limits(tmp_path):
    big = tmp_path / "big.yaml"
    with big.open("wb") as fh:
        fh.truncate(MAX_INPUT_BYTES + 1)
    with pytest.raises(InputError, match="MiB limit"):
        read_text(big)
    latin = tmp_path / "latin.yaml"
    latin.write_bytes(b"a: caf\xe9\n")
    with pytest.raises(InputError, match="not UTF-8"):
        read_text(latin)
    with pytest.raises(InputError, match="no such file"):
        read_text(tmp_path / "missing.yaml")
