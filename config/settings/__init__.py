"""Settings package: ``base`` plus one small module per session profile (see README)."""
