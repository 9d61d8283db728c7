"""Build support for the Pelican plugins: credit data for templates, the search index and
the render cache. Pelican-free; the plugins beside this package adapt it to a build."""
