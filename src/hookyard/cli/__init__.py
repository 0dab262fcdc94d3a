"""The ``hookyard`` command line: one module per command group, thin over the services."""
