from __future__ import annotations

import stat
from pathlib import Path

import pytest
from cryptography.exceptions import InvalidTag

from auth.passwords import hash_password, verify_password
from auth.secretbox import KEY_FILE, SecretBox


def test_argon2id_hashes_verify_and_reject() -> None:
    hashed = hash_password("correct horse")
    assert hashed.startswith("$argon2id$")
    assert verify_password(hashed, "correct horse")
    assert not verify_password(hashed, "wrong horse")
    assert not verify_password(None, "anything")
    assert not verify_password("garbage", "anything")


def test_server_key_is_created_once_with_mode_0600(tmp_path: Path) -> None:
    box = SecretBox.load_or_create(tmp_path)
    mode = stat.S_IMODE((tmp_path / KEY_FILE).stat().st_mode)
    assert mode == 0o600
    sealed = box.encrypt("s3cret", "AKIA1")
    assert b"s3cret" not in sealed
    assert SecretBox.load_or_create(tmp_path).decrypt(sealed, "AKIA1") == "s3cret"


def test_ciphertext_is_bound_to_its_key_id(tmp_path: Path) -> None:
    box = SecretBox.load_or_create(tmp_path)
    sealed = box.encrypt("s3cret", "AKIA1")
    with pytest.raises(InvalidTag):
        box.decrypt(sealed, "AKIA2")
