"""Pseudonyms: deterministic per key, type-keeping, idempotent, and their subject tags."""

from __future__ import annotations

import hmac
import uuid

import pytest

from streams.pii import PSEUDONYM_PREFIX, Pseudonymizer

KEY = bytes(range(32))
USER = "0b9c1c2e-7d3a-4c1e-9a57-2f1d0e8b6a41"


def test_the_same_key_gives_the_same_pseudonym_and_another_key_another() -> None:
    one, again, other = Pseudonymizer(KEY), Pseudonymizer(KEY), Pseudonymizer(bytes(32))
    assert one.string("ada") == again.string("ada")
    assert one.string("ada") != other.string("ada")
    assert one.string("ada") != one.string("bob")
    assert one.uuid(USER) == again.uuid(USER)
    assert one.integer(42, "long") == again.integer(42, "long")


def test_the_mac_is_hmac_sha256() -> None:
    for key in (KEY, bytes(range(80))):
        pseudonyms = Pseudonymizer(key)
        for message in (b"", b"uuid\x00abc", bytes(300)):
            assert pseudonyms.mac(message) == hmac.digest(key, message, "sha256")


def test_a_string_pseudonym_is_prefixed_base64url() -> None:
    value = Pseudonymizer(KEY).string("ada@example.org")
    assert value.startswith(PSEUDONYM_PREFIX)
    assert len(value) == len(PSEUDONYM_PREFIX) + 22
    assert set(value[4:]) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def test_a_uuid_pseudonym_is_a_version_8_uuid_and_ignores_case() -> None:
    pseudonyms = Pseudonymizer(KEY)
    value = pseudonyms.uuid(USER)
    parsed = uuid.UUID(value)
    assert parsed.version == 8
    assert parsed.bytes[:2] == b"ps"
    assert value != USER
    assert pseudonyms.uuid(USER.upper()) == value


@pytest.mark.parametrize(("family", "bits"), [("int", 31), ("long", 63)])
def test_an_integer_pseudonym_is_non_negative_and_fits(family: str, bits: int) -> None:
    pseudonyms = Pseudonymizer(KEY)
    values = {pseudonyms.integer(n, family) for n in range(-50, 50)}  # type: ignore[arg-type]
    assert len(values) == 100
    assert all(0 <= value < 2**bits for value in values)


def test_pseudonymizing_a_pseudonym_keeps_it() -> None:
    pseudonyms = Pseudonymizer(KEY)
    once = pseudonyms.string("ada")
    assert pseudonyms.string(once) == once
    assert pseudonyms.uuid(pseudonyms.uuid(USER)) == pseudonyms.uuid(USER)


def test_the_subject_tags_of_a_raw_id_cover_each_type_family() -> None:
    pseudonyms = Pseudonymizer(KEY)
    tags = pseudonyms.subject_tags(USER)
    assert pseudonyms.subject_tag(pseudonyms.uuid(USER)) in tags
    assert pseudonyms.subject_tag(pseudonyms.string(USER)) in tags
    number = pseudonyms.subject_tags("123")
    assert pseudonyms.subject_tag(pseudonyms.integer(123, "long")) in number
    assert pseudonyms.subject_tag(pseudonyms.integer(123, "int")) in number
    assert not tags & number


def test_a_short_key_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 32 random bytes"):
        Pseudonymizer(b"short")


def test_the_cache_is_bounded_and_answers_stay_right() -> None:
    small, fresh = Pseudonymizer(KEY, cache_size=2), Pseudonymizer(KEY)
    for name in ("a", "b", "c", "a", "d", "b"):
        assert small.string(name) == fresh.string(name)
    assert len(small._caches["string"].names()) == 2
