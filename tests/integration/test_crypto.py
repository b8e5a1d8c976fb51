"""Envelope encryption: per-record keys, bound to the record, under one master key."""

import pytest
from cryptography.exceptions import InvalidTag

from bot.adapters.crypto import Sealer


def test_seal_and_open(sealer):
    sealed = sealer.seal("rec-1", b"Amina")
    assert b"Amina" not in sealed.ciphertext + sealed.wrapped_key
    assert sealer.open("rec-1", sealed) == b"Amina"


def test_each_record_has_its_own_key(sealer):
    assert sealer.seal("rec-1", b"x").wrapped_key != sealer.seal("rec-1", b"x").wrapped_key


def test_ciphertext_is_bound_to_its_record(sealer):
    sealed = sealer.seal("rec-1", b"Amina")
    with pytest.raises(InvalidTag):
        sealer.open("rec-2", sealed)


def test_another_master_key_cannot_open(sealer):
    with pytest.raises(ValueError):
        Sealer(bytes(32)).open("rec-1", sealer.seal("rec-1", b"x"))
