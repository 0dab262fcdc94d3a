"""Redaction: credentials out of stored headers at ingest (``headers``), and JSON fields
out of stored bodies once an event is old enough (``fields``, ``runner``)."""
