"""Data products of the example company, one package per domain."""
