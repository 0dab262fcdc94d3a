"""Admin JSON API under ``/api``, plus ``/healthz`` and ``/metrics``."""
