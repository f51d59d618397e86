"""The one Avro schema model of ``streams`` (pure, no I/O).

Everything that reads an Avro schema goes through this package: the registry, the codec, codegen,
governance and the catalog. It holds

- :func:`parse_schema`: the parser, with Confluent's (Avro Java's) rules and messages that name
  the JSON pointer and the fix, giving a :class:`ParsedSchema` with its canonical text;
- :func:`check_pair` / :func:`check_level`: Avro's schema-resolution (compatibility) rules;
- :func:`compile_validator`: the one value validator (a check compiled once per schema);
- :func:`iter_fields`: the one typed walk over a record's fields, docs and PII marks.
"""

from __future__ import annotations

from streams.avro._finite import infinite_problem
from streams.avro.compatibility import (
    LEVELS,
    CompatibilityLevel,
    Incompatibility,
    check_level,
    check_pair,
)
from streams.avro.fields import (
    PROTECTIONS,
    SUBJECT_ATTRIBUTE,
    FieldInfo,
    Protection,
    describe_type,
    iter_docs,
    iter_fields,
    non_null,
    record_fields,
    resolve,
)
from streams.avro.schema import (
    MAX_DEPTH,
    MAX_JSON_DEPTH,
    MAX_NAME_LENGTH,
    ParsedSchema,
    fingerprint,
    parse_schema,
)
from streams.avro.validate import Problem, Validator, compile_validator

__all__ = [
    "LEVELS",
    "MAX_DEPTH",
    "MAX_JSON_DEPTH",
    "MAX_NAME_LENGTH",
    "PROTECTIONS",
    "SUBJECT_ATTRIBUTE",
    "CompatibilityLevel",
    "FieldInfo",
    "Incompatibility",
    "ParsedSchema",
    "Problem",
    "Protection",
    "Validator",
    "check_level",
    "check_pair",
    "compile_validator",
    "describe_type",
    "fingerprint",
    "infinite_problem",
    "iter_docs",
    "iter_fields",
    "non_null",
    "parse_schema",
    "record_fields",
    "resolve",
]
