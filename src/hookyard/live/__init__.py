"""Live events: the server-sent event stream's wire format and policy (``sse``, ``position``)
and the client side of ``hookyard listen`` / ``tail`` (``client``, ``forward``, ``routes``,
``lines``), and ``hookyard trigger``'s samples (``samples``)."""
