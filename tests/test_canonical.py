import codecs
import random
import unicodedata

import pytest

from workbench.canonical import canonicalize, decode_bytes
from workbench.errors import InputError


@pytest.mark.parametrize("data, encoding", [
    ("Amy: Caf\u00e9\n".encode("utf-8"), "UTF-8"),
    (codecs.BOM_UTF8 + "Amy: Caf\u00e9\n".encode("utf-8"), "UTF-8 with BOM"),
    (codecs.BOM_UTF16_LE + "Amy: Caf\u00e9\n".encode("utf-16-le"), "UTF-16 with BOM"),
    (codecs.BOM_UTF16_BE + "Amy: Caf\u00e9\n".encode("utf-16-be"), "UTF-16 with BOM"),
])
def test_decodes_utf_variants_to_the_same_text(data, encoding):
    decoded = decode_bytes(data, "t.txt")
    assert decoded.encoding == encoding
    assert canonicalize(decoded.text)[0] == "Amy: Caf\u00e9\n"


def test_windows_1252_fallback_is_reported():
    decoded = decode_bytes("Amy: it\u2019s \u00a31 \u2013 fine".encode("cp1252"), "legacy.txt")
    assert decoded.text == "Amy: it\u2019s \u00a31 \u2013 fine"
    assert "Windows-1252" in decoded.encoding


@pytest.mark.parametrize("data, reason", [
    (b"", "empty"),
    (b"  \r\n\n ", "empty"),
    (b"PK\x03\x04\x00\x00binary\x00stuff", "binary"),
    (bytes(range(1, 32)) * 20, "binary"),
])
def test_bad_bytes_are_refused_with_the_reason(data, reason):
    with pytest.raises(InputError, match=reason) as error:
        decode_bytes(data, "bad.txt")
    assert error.value.where == "bad.txt"


def test_canonical_form_changes_only_bom_line_ends_and_normalisation():
    raw = "\ufeffCafe\u0301 one\r\ntwo\rthree\n\u1100\u1161 four"
    text, offsets = canonicalize(raw)
    assert text == "Caf\u00e9 one\ntwo\nthree\n\uac00 four"
    assert unicodedata.is_normalized("NFC", text)
    # A span over the decomposed word maps onto the composed one, whole.
    assert text[slice(*offsets.span(1, 6))] == "Caf\u00e9"
    # Offsets after each change land on the same characters.
    for word in ("one", "two", "three", "four"):
        original = raw.index(word)
        start, end = offsets.span(original, original + len(word))
        assert text[start:end] == word


def test_offset_map_round_trips_random_spans_on_messy_text():
    rng = random.Random(7)
    alphabet = ["a", "b", " ", "\r\n", "\n", "\r", "e\u0301", "\u00e9", "\u2019", "\U0001F600",
                "o\u0308\u0331", "\u1100\u1161", "\u00c5", "A\u030a"]
    for _ in range(200):
        pieces = [rng.choice(alphabet) for _ in range(rng.randint(1, 40))]
        raw = "".join(pieces)
        text, offsets = canonicalize(raw)
        assert text == unicodedata.normalize("NFC", raw.replace("\r\n", "\n").replace("\r", "\n"))
        # piece boundaries in the original map to boundaries whose texts agree
        bounds = [0]
        for piece in pieces:
            bounds.append(bounds[-1] + len(piece))
        for _ in range(10):
            i, j = sorted(rng.sample(range(len(bounds)), 2))
            start, end = offsets.span(bounds[i], bounds[j])
            expected = unicodedata.normalize(
                "NFC", "".join(pieces[i:j]).replace("\r\n", "\n").replace("\r", "\n"))
            assert text[start:end] == expected
