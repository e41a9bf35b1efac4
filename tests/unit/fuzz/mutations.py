"""Near-valid input for the parser fuzzers: valid examples, then a few random edits.

Random bytes rarely get past a parser's first check; a valid example with one byte
flipped, a range cut or doubled, or one JSON value swapped for another type reaches the
code behind it, which is where the bugs are.
"""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import strategies as st

# Bytes and characters parsers trip on: framing, NUL, newlines, invalid UTF-8, a lone
# surrogate (what `surrogateescape` and JSON's "\ud800" hand a parser), odd unicode.
_NASTY_BYTES = [b"\0", b"\n", b"\r\n", b" ", b"\xff", b"\xc3", b"\xed\xa0\x80", b"0000", b"%"]
NASTY_TEXT = [
    "\0",
    "\n",
    " ",
    "\ud800",
    "\udcff",
    "\u202e",
    "\ufeff",
    "\u0661",  # ARABIC-INDIC DIGIT ONE: \d matches it without re.ASCII
    "\u2003",
    "..",
    "/",
    "*",
    "{",
    "${",
    "%",
    "é",
    "\U0001f600",
]

# Every code point, lone surrogates included (`characters()` leaves them out by default).
any_char = st.characters(exclude_categories=())
any_text = st.lists(any_char | st.sampled_from(NASTY_TEXT), max_size=40).map("".join)


@st.composite
def mutated_bytes(draw: st.DrawFn, data: bytes, max_edits: int = 3) -> bytes:
    """`data` after 1 to `max_edits` random edits."""
    out = bytearray(data)
    for _ in range(draw(st.integers(1, max_edits))):
        op = draw(st.sampled_from(["flip", "cut", "insert", "dup", "truncate", "nasty"]))
        pos = draw(st.integers(0, len(out)))
        end = draw(st.integers(pos, min(len(out), pos + 16)))
        if op == "flip" and pos < len(out):
            out[pos] ^= 1 << draw(st.integers(0, 7))
        elif op == "cut":
            del out[pos:end]
        elif op == "insert":
            out[pos:pos] = draw(st.binary(min_size=1, max_size=8))
        elif op == "dup":
            out[pos:pos] = out[pos:end]
        elif op == "truncate":
            del out[pos:]
        else:
            out[pos:pos] = draw(st.sampled_from(_NASTY_BYTES))
    return bytes(out)


@st.composite
def mutated_text(draw: st.DrawFn, text: str, max_edits: int = 3) -> str:
    """`text` after random edits (as characters: the result may hold any code point)."""
    out = list(text)
    for _ in range(draw(st.integers(1, max_edits))):
        op = draw(st.sampled_from(["replace", "cut", "insert", "dup", "truncate"]))
        pos = draw(st.integers(0, len(out)))
        end = draw(st.integers(pos, min(len(out), pos + 12)))
        if op == "replace" and pos < len(out):
            out[pos] = draw(any_char | st.sampled_from(NASTY_TEXT))
        elif op == "cut":
            del out[pos:end]
        elif op == "insert":
            out[pos:pos] = list(draw(any_text))
        elif op == "dup":
            out[pos:pos] = out[pos:end]
        else:
            del out[pos:]
    return "".join(out)


json_scalars = (
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=False) | any_text
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(any_text, inner, max_size=4),
    max_leaves=12,
)


def _paths(value: Any, here: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place in a JSON value, as a path of keys and indexes."""
    found = [here]
    if isinstance(value, dict):
        for key, item in value.items():
            found += _paths(item, (*here, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _paths(item, (*here, index))
    return found


@st.composite
def mutated_json(draw: st.DrawFn, document: Any, max_edits: int = 2) -> Any:
    """A copy of `document` with a few values replaced, removed, wrapped or retyped."""
    doc = copy.deepcopy(document)
    for _ in range(draw(st.integers(1, max_edits))):
        path = draw(st.sampled_from(_paths(doc)))
        if not path:
            doc = draw(json_values)
            continue
        parent = doc
        for key in path[:-1]:
            parent = parent[key]
        key = path[-1]
        op = draw(st.sampled_from(["replace", "remove", "wrap", "stringify", "unknown-key"]))
        if op == "replace":
            parent[key] = draw(json_values)
        elif op == "remove":
            del parent[key]
        elif op == "wrap":
            parent[key] = [parent[key]] if draw(st.booleans()) else {"x": parent[key]}
        elif op == "stringify":
            parent[key] = str(parent[key])
        elif isinstance(parent, dict):
            parent[draw(any_text)] = draw(json_values)
    return doc


def deep(depth: int, kind: str = "list") -> str:
    """JSON (and YAML flow) text nested `depth` levels deep."""
    if kind == "list":
        return "[" * depth + "]" * depth
    return '{"a":' * depth + "1" + "}" * depth
