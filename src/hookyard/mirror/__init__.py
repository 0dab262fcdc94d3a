"""Mirroring production traffic to staging, out of band.

``settings`` reads ``[mirrors.NAME]``; ``sampling``, ``bucket`` and ``shaping`` are pure
policy (which events, how many a second, what the body becomes); ``copy`` turns one
stored event into the request a mirror sends, or says why it sends none; ``lane`` reads
the event log by cursor and sends each copy once through the delivery attempt every
other request uses; ``report`` compares what staging answered with production.
Nothing here runs on the ingest path.
"""
