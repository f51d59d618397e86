"""Tests of ``streams.codegen``."""
