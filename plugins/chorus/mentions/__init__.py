"""Webmentions: the build's manifest of which pages link where (``manifest``), the protocol
(``webmention``: discovery and sending), and the plan and log that send each mention once
(``dispatch``). Builds import only ``manifest``, so they never load an HTTP client."""
