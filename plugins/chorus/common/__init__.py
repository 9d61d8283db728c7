"""Shared helpers every stage may use: settings, URL checks, atomic files, front matter and
the HTML allow-list. Nothing here imports any other part of Chorus."""
