"""Chorus: a community blog generator on Pelican.

This package is the Pelican-free core (members registry, fetching, parsing, sanitizing,
curating and the content store) and the ``chorus`` command line. The Pelican plugins that
adapt it to a build live beside it in ``plugins/``.
"""

__version__ = "0.1.0"
