"""Settings for publishing: absolute URLs, feeds on, drafts off. Used by `make publish`."""

import os
import sys

sys.path.append(os.curdir)
from pelicanconf import *  # noqa: E402, F403 -- publishconf extends pelicanconf by design

SITEURL = os.environ.get("CHORUS_SITEURL") or "https://loom.example"
RELATIVE_URLS = False
FEED_DOMAIN = SITEURL
DELETE_OUTPUT_DIRECTORY = True
# Drafts (curated posts waiting for an editor) are never deployed.
DRAFT_SAVE_AS = ""
DRAFT_LANG_SAVE_AS = ""
DRAFT_PAGE_SAVE_AS = ""
DRAFT_PAGE_LANG_SAVE_AS = ""
