"""The web dashboard at ``/ui``: server-rendered pages over the same services as the API.

Jinja2 templates and a vendored htmx (``static/``); every read page works with
JavaScript off, htmx only adds partial reloads. ``session`` is the pure cookie and
CSRF policy, ``auth`` applies it to requests, one module a page group renders.
"""
