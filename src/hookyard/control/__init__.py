"""Operator controls: destination pause, resume and enable, and the audit trail.

``policy`` is pure (which state an action leads to, or why it is refused);
``destinations`` applies it over a store and reads what ``destinations list`` shows;
``audit`` records who did what. The API (``hookyard.api.control``) and the CLI
(``hookyard.cli.destinations``, ``hookyard.cli.audit``) are thin over these.
"""
