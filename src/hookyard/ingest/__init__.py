"""Ingest: the raw ASGI endpoint ``POST /in/{source}``."""

from hookyard.ingest.app import IngestApp

__all__ = ["IngestApp"]
