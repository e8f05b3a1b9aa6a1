"""The digital-twin web service."""
