"""Fetch and curate: fetch feeds over HTTP, parse them into entries, decide which entries
become posts, write them into the repository and keep the state of every feed.

The order of a run: ``http`` fetches, ``parse`` reads bytes into ``entries``, ``store`` curates
and writes, ``state`` and ``health`` remember how each feed answered, ``run`` drives them all.
"""
