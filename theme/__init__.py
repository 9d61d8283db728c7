"""The default Chorus theme, installed as the package ``chorus_theme``.

A site's ``pelicanconf.py`` says ``THEME = chorus_theme.PATH`` and finds this directory
wherever Chorus is installed: from a wheel, as an editable install, or in this repository.
Pelican reads only ``templates/`` and ``static/`` from a theme, so this file is never served.
"""

from pathlib import Path

PATH = str(Path(__file__).resolve().parent)
