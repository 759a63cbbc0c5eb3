"""The signing key file: created once with mode 0600, never overwritten, refused when others
may read it; the chain refuses to be written with another key."""

from __future__ import annotations

import os
import stat

import pytest

from registry import seal
from registry.seal import SealError


def test_the_key_is_created_once_private_and_kept(tmp_path):
    path = tmp_path / "keys" / "signing.key"
    first = seal.load(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert seal.load(path).public_pem == first.public_pem  # read again, not made again
    assert [p.name for p in path.parent.iterdir()] == ["signing.key"]  # no temporary left
    assert len(first.key_id) == 16 and first.seal("c", 1, "h") != first.seal("c", 2, "h")


def test_a_key_others_may_read_is_refused(tmp_path):
    path = tmp_path / "signing.key"
    seal.load(path)
    os.chmod(path, 0o644)
    with pytest.raises(SealError, match="chmod 600"):
        seal.load(path)


@pytest.mark.parametrize("content", ["", "zz", "00" * 16])
def test_a_bad_key_file_is_refused_clearly(tmp_path, content):
    path = tmp_path / "signing.key"
    path.write_text(content)
    os.chmod(path, 0o600)
    with pytest.raises(SealError, match=str(path)):
        seal.load(path)


def test_a_missing_key_is_not_made_when_asked_not_to(tmp_path):
    with pytest.raises(SealError, match="does not exist"):
        seal.load(tmp_path / "none.key", create=False)


def test_signatures_cover_every_field():
    sealer = seal.Sealer.from_secret(b"\x03" * 32)
    fields = {"chain": "ledger", "length": 3, "head_hash": "ab", "at": None, "key_id": "k"}
    signature = sealer.sign(fields)
    assert seal.signature_ok(sealer.public_pem, fields, signature)
    for name, value in [("length", 4), ("head_hash", "ac"), ("chain", "registry")]:
        assert not seal.signature_ok(sealer.public_pem, {**fields, name: value}, signature)
    assert not seal.signature_ok(sealer.public_pem, fields, "not base64!")
    assert not seal.signature_ok("not a key", fields, signature)
