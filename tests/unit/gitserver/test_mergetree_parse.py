"""`git merge-tree -z` output as git 2.39 prints it (git help merge-tree, OUTPUT)."""

from __future__ import annotations

from gitserver.content.mergetree import ConflictedFile, Message, Stage, parse

TREE = "81eca8f4f76195ebca4d523d737428fc6d411d05"
A, B, C = "a" * 40, "b" * 40, "c" * 40


def test_a_clean_merge_is_the_tree_and_two_nuls() -> None:
    merged = parse(f"{TREE}\x00\x00".encode(), clean=True, base=A)
    assert (merged.tree_id, merged.clean, merged.merge_base) == (TREE, True, A)
    assert merged.conflicts == () and merged.messages == ()


def test_stages_group_by_path_and_messages_keep_every_path() -> None:
    raw = (
        f"{TREE}\x00"
        f"100644 {A} 1\tdir/f\x00100644 {B} 2\tdir/f\x00100755 {C} 3\tdir/f\x00"
        f"120000 {C} 3\tt\x00100644 {B} 2\tt~{A}\x00"
        "\x00"
        "1\x00dir/f\x00Auto-merging\x00Auto-merging dir/f\n\x00"
        f"2\x00t\x00t~{A}\x00CONFLICT (distinct modes)\x00CONFLICT (distinct types): t ...\n\x00"
    ).encode() + b"1\x00caf\xe9\x00CONFLICT (modify/delete)\x00gone\n\x00"
    merged = parse(raw, clean=False, base="")
    assert merged.conflicts == (
        ConflictedFile("dir/f", Stage("100644", A), Stage("100644", B), Stage("100755", C)),
        ConflictedFile("t", None, None, Stage("120000", C)),
        ConflictedFile(f"t~{A}", None, Stage("100644", B), None),
    )
    assert merged.messages[0] == Message(("dir/f",), "Auto-merging", "Auto-merging dir/f")
    assert merged.messages[1].paths == ("t", f"t~{A}")
    # A name that is not UTF-8 survives the round trip back to git's bytes.
    assert merged.messages[2].paths[0].encode("utf-8", "surrogateescape") == b"caf\xe9"
