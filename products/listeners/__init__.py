"""The listeners domain's data products."""
