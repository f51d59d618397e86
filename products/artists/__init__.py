"""The artists domain's data products."""
