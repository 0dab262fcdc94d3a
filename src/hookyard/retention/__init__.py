"""Data retention: what to delete and when (``policy``, pure), a purge run in batches
(``purge``) and the background purge of ``hookyard serve`` (``service``)."""
