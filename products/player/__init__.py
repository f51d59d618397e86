"""The player domain's data products."""
