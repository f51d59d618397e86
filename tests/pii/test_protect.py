"""Field protection of one record: round trips, types kept, and unreadable never crashes."""

from __future__ import annotations

import base64
import json
import uuid
from typing import Any

import pytest

from streams.avro import compile_validator, parse_schema
from streams.errors import SerializationError
from streams.pii import CIPHER_PREFIX, DataKey, FieldProtection, Pseudonymizer, parse_key_id
from tests.access._schemas import event, registered

KEY = bytes(range(32))
ADA = "0b9c1c2e-7d3a-4c1e-9a57-2f1d0e8b6a41"
BOB = "5f0e7a3c-1b2d-4e5f-8a9b-0c1d2e3f4a5b"


def _protection(product: str = "listeners.registrations", **record: Any) -> FieldProtection:
    return FieldProtection(registered(**record), product=product, pseudonymizer=Pseudonymizer(KEY))


def _keys_of(*protected: Any) -> dict[str, DataKey]:
    return {item.key.id: item.key for item in protected if item.key is not None}


def test_a_protected_record_keeps_its_schema_and_reveals_with_its_key() -> None:
    protection = _protection()
    original = event(ADA)
    protected = protection.protect(original)
    value = protected.value
    assert original == event(ADA)  # the caller's dict is not changed
    assert uuid.UUID(value["user_id"]).version == 8
    assert value["email"].startswith(CIPHER_PREFIX + protected.key.id + ":")
    assert value["display_name"].startswith(CIPHER_PREFIX)
    assert isinstance(value["photo"], bytes)
    assert value["photo"].startswith(b"enc1")
    assert value["country"] == "SE"
    assert ADA[:4] not in value["email"]
    assert compile_validator(registered()).explain(value) is None  # still a valid record
    keys = _keys_of(protected)
    revealed = protection.reveal(value, keys.get)
    assert revealed == {**original, "user_id": value["user_id"]}


def test_the_key_id_names_the_product_and_the_subject_and_is_reused() -> None:
    protection = _protection()
    first, second = protection.protect(event(ADA)), protection.protect(event(ADA, email="x@y"))
    other = protection.protect(event(BOB))
    assert first.new
    assert not second.new
    assert other.new
    assert first.key == second.key
    assert first.key != other.key
    product, tag, serial = parse_key_id(first.key.id) or ("", "", "")
    pseudonyms = Pseudonymizer(KEY)
    assert product == "listeners.registrations"
    assert tag == pseudonyms.subject_tag(pseudonyms.uuid(ADA))
    assert serial


def test_encryption_is_randomized_but_pseudonyms_are_deterministic() -> None:
    protection = _protection()
    one, two = protection.protect(event(ADA)).value, protection.protect(event(ADA)).value
    assert one["user_id"] == two["user_id"]
    assert one["email"] != two["email"]
    assert _protection().protect(event(ADA)).value["user_id"] == one["user_id"]


def test_nulls_stay_null() -> None:
    protection = _protection()
    protected = protection.protect(event(ADA, display_name=None, photo=None))
    assert protected.value["display_name"] is None
    assert protected.value["photo"] is None
    revealed = protection.reveal(protected.value, _keys_of(protected).get)
    assert revealed["display_name"] is None


@pytest.mark.parametrize(("missing", "expected"), [("ciphertext", "sealed"), ("null", None)])
def test_without_the_key_a_field_is_the_ciphertext_or_null(
    missing: Any, expected: str | None
) -> None:
    protection = _protection()
    value = protection.protect(event(ADA)).value
    revealed = protection.reveal(value, lambda kid: None, missing=missing)
    assert revealed["email"] == (value["email"] if expected else None)
    assert revealed["photo"] == (value["photo"] if expected else None)
    assert revealed["country"] == "SE"


def test_a_wrong_key_or_a_moved_ciphertext_does_not_decrypt() -> None:
    protection = _protection()
    ada, bob = protection.protect(event(ADA)), protection.protect(event(BOB))
    assert ada.key is not None
    assert bob.key is not None
    wrong = DataKey.of(ada.key.id, bob.key.secret)
    assert protection.reveal(ada.value, {ada.key.id: wrong}.get, missing="null")["email"] is None
    # Another field's ciphertext (the AAD binds the field) ...
    moved = {**ada.value, "display_name": ada.value["email"]}
    keys = _keys_of(ada)
    assert protection.reveal(moved, keys.get, missing="null")["display_name"] is None
    # A derived product carrying the ciphertext reads it with its source's key (the key id
    # names the source product; the key service decides who gets that key) ...
    derived = _protection(product="listeners.profiles")
    assert derived.reveal(ada.value, keys.get, missing="null")["email"] == event(ADA)["email"]
    # ... but a ciphertext relabelled as another product's key does not decrypt (the AAD
    # binds the product).
    elsewhere_id = ada.key.id.replace(ada.key.id.split("/")[0], "listeners.profiles", 1)
    relabelled_product = ada.value["email"].replace(ada.key.id, elsewhere_id)
    moved_keys = {elsewhere_id: DataKey.of(elsewhere_id, ada.key.secret)}
    found = derived.reveal({**ada.value, "email": relabelled_product}, moved_keys.get)
    assert found["email"] == relabelled_product
    # Relabelled with another subject's key id, under that key: refused too.
    relabelled = ada.value["email"].replace(ada.key.id, bob.key.id)
    both = _keys_of(ada, bob)
    found = protection.reveal({**ada.value, "email": relabelled}, both.get, missing="null")
    assert found["email"] is None


@pytest.mark.parametrize(
    "tamper",
    [
        lambda text: text[:-2] + ("A" if text[-2] != "A" else "B") + text[-1],
        lambda text: text[:-10],
        lambda text: text + "!!",
        lambda text: "enc1:garbage",
        lambda text: "enc1::",
        lambda text: text.replace(CIPHER_PREFIX, "enc1:x/y/z:", 1),
    ],
)
def test_a_tampered_ciphertext_is_unreadable_not_an_error(tamper: Any) -> None:
    protection = _protection()
    protected = protection.protect(event(ADA))
    value = {**protected.value, "email": tamper(protected.value["email"])}
    revealed = protection.reveal(value, _keys_of(protected).get, missing="null")
    assert revealed["email"] is None
    assert revealed["display_name"] == "Ada Lovelace"


def test_tampered_bytes_are_unreadable() -> None:
    protection = _protection()
    protected = protection.protect(event(ADA))
    photo = bytearray(protected.value["photo"])
    photo[-1] ^= 1
    for broken in (bytes(photo), b"enc1", b"enc1\xff", b"plain"):
        value = {**protected.value, "photo": broken}
        revealed = protection.reveal(value, _keys_of(protected).get, missing="null")
        assert revealed["photo"] is None if broken.startswith(b"enc1") else broken


def test_the_ciphertext_is_versioned_base64url() -> None:
    protected = _protection().protect(event(ADA))
    version, kid, body = protected.value["email"].split(":")
    assert (version, kid) == ("enc1", protected.key.id)
    raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    assert len(raw) == 12 + len(f"{ADA[:4]}@example.org") + 16


def test_key_ids_lists_the_keys_a_record_needs() -> None:
    protection = _protection()
    protected = protection.protect(event(ADA))
    assert protection.key_ids(protected.value) == {protected.key.id}
    assert protection.key_ids(event(ADA)) == set()


def test_a_record_level_subject_and_integer_pseudonyms() -> None:
    schema = parse_schema(
        json.dumps(
            {
                "type": "record",
                "name": "Signed",
                "pii.subject": "artist_id",
                "fields": [
                    {"name": "artist_id", "type": "string"},
                    {"name": "account", "type": "long", "pii": "pseudonymize"},
                    {"name": "pin", "type": ["null", "int"], "pii": "pseudonymize"},
                    {"name": "legal_name", "type": "string", "pii": "encrypt"},
                ],
            }
        )
    )
    protection = FieldProtection(
        schema, product="artists.signings", pseudonymizer=Pseudonymizer(KEY)
    )
    protected = protection.protect({"artist_id": "a-1", "account": 7, "pin": 3, "legal_name": "X"})
    value = protected.value
    assert value["artist_id"] == "a-1"
    assert isinstance(value["account"], int)
    assert 0 <= value["pin"] < 2**31
    pseudonyms = Pseudonymizer(KEY)
    assert parse_key_id(protected.key.id)[1] == pseudonyms.subject_tag(pseudonyms.string("a-1"))  # type: ignore[index]
    assert protection.reveal(value, _keys_of(protected).get)["legal_name"] == "X"


def test_a_null_subject_with_encrypted_values_is_refused_before_anything_is_sent() -> None:
    with pytest.raises(SerializationError, match="'user_id', the data subject") as caught:
        _protection().protect(event(ADA, user_id=None))
    assert caught.value.path == "user_id"
    empty = _protection().protect(
        event(ADA, user_id=None, email=None, display_name=None, photo=None)
    )
    assert empty.key is None


def test_a_schema_without_marks_is_inactive() -> None:
    schema = parse_schema(
        json.dumps({"type": "record", "name": "R", "fields": [{"name": "a", "type": "string"}]})
    )
    protection = FieldProtection(schema, product="x.y", pseudonymizer=Pseudonymizer(KEY))
    assert not protection.active
    assert protection.protect({"a": "b"}).value == {"a": "b"}


def test_a_ciphertext_is_carried_as_it_is_not_encrypted_again() -> None:
    source, derived = _protection(), _protection(product="listeners.profiles")
    ada = source.protect(event(ADA))
    carried = derived.protect(ada.value)
    assert carried.value["email"] == ada.value["email"]
    assert carried.value["photo"] == ada.value["photo"]
    # A plain value that merely looks like one is encrypted.
    fake = derived.protect(event(ADA, email="enc1:not-a-key-id:AAAA"))
    assert fake.value["email"] != "enc1:not-a-key-id:AAAA"
