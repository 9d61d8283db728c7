"""Settings for publishing: absolute URLs, feeds on. Used by `make publish`."""

import os
import sys

sys.path.append(os.curdir)
from pelicanconf import *  # noqa: E402, F403 -- publishconf extends pelicanconf by design

SITEURL = os.environ.get("CHORUS_SITEURL", "https://loom.example")
RELATIVE_URLS = False
FEED_DOMAIN = SITEURL
DELETE_OUTPUT_DIRECTORY = True
