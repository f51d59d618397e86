"""Which values a tag-scoped rule reaches, and the key formats shared with confluent's Tink
executor (no network)."""

from __future__ import annotations

import json
import os

import pytest
from confluent_kafka.schema_registry.rules.encryption.dek_registry.dek_registry_client import (
    DekAlgorithm,
)
from confluent_kafka.schema_registry.rules.encryption.encrypt_executor import Cryptor
from confluent_kafka.schema_registry.rules.encryption.localkms.local_client import LocalKmsClient

from streams.kafka._tagged import apply_plan, tagged_plan
from streams.kafka.encryption import LocalKms, _Gcm, _key_of, _key_proto, _Siv

SCHEMA = json.dumps(
    {
        "type": "record",
        "name": "Order",
        "namespace": "shop",
        "fields": [
            {"name": "id", "type": "string"},
            {"name": "email", "type": "string", "confluent:tags": ["PII"]},
            {"name": "notes", "type": {"type": "array", "items": "string"}},
            {
                "name": "buyer",
                "type": [
                    "null",
                    {
                        "type": "record",
                        "name": "Buyer",
                        "fields": [
                            {"name": "name", "type": "string"},
                            {"name": "card", "type": "bytes"},
                        ],
                    },
                ],
            },
        ],
    }
)
ORDER = {
    "id": "o1",
    "email": "a@b.c",
    "notes": ["x", "y"],
    "buyer": {"name": "Ann", "card": b"\x01"},
}


def _mark(kind: str, value: object) -> object:
    return f"<{value}>" if kind == "string" else b"<" + value + b">"  # type: ignore[operator]


def test_inline_and_metadata_tags_with_wildcards() -> None:
    metadata = {"tags": {"shop.Buyer.*": ["PII"], "**.notes": ["PII"]}}
    plan = tagged_plan(SCHEMA, metadata, frozenset({"PII"}))
    out = apply_plan(plan, ORDER, _mark)
    assert out == {
        "id": "o1",
        "email": "<a@b.c>",
        "notes": ["<x>", "<y>"],
        "buyer": {"name": "<Ann>", "card": b"<\x01>"},
    }
    assert ORDER["email"] == "a@b.c"  # the caller's record is not changed
    assert apply_plan(plan, {**ORDER, "buyer": None}, _mark)["buyer"] is None


def test_other_tags_reach_nothing() -> None:
    assert tagged_plan(SCHEMA, None, frozenset({"SECRET"})) is None
    only_inline = tagged_plan(SCHEMA, None, frozenset({"PII"}))
    assert apply_plan(only_inline, ORDER, _mark)["buyer"] == ORDER["buyer"]


@pytest.mark.parametrize(
    ("algorithm", "ours"),
    [
        (DekAlgorithm.AES256_GCM, _Gcm),
        (DekAlgorithm.AES128_GCM, _Gcm),
        (DekAlgorithm.AES256_SIV, _Siv),
    ],
)
def test_data_keys_and_ciphertexts_match_tinks(algorithm: DekAlgorithm, ours: type) -> None:
    tink = Cryptor(algorithm)
    raw = tink.generate_key()  # a serialized Tink key, as confluent stores it (wrapped)
    cipher = ours(_key_of(raw, algorithm.value))
    assert cipher.decrypt(tink.encrypt(raw, b"secret", b""), b"") == b"secret"
    assert tink.decrypt(raw, cipher.encrypt(b"secret", b""), b"") == b"secret"
    # and a key we make is one Tink reads
    size = {"AES128_GCM": 16, "AES256_GCM": 32, "AES256_SIV": 64}[algorithm.value]
    key = os.urandom(size)
    assert tink.decrypt(_key_proto(key, algorithm.value), ours(key).encrypt(b"s", b""), b"") == b"s"


def test_local_kms_wraps_like_confluents() -> None:
    theirs = LocalKmsClient("a secret").get_aead("local-kms://k")
    mine = LocalKms("a secret").aead("local-kms", "k")
    assert mine.decrypt(theirs.encrypt(b"dek", b""), b"") == b"dek"
    assert theirs.decrypt(mine.encrypt(b"dek", b""), b"") == b"dek"
