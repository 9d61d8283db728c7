"""Settings for the demo community site (and the template for your own).

Every CHORUS_* setting and its default is listed in docs/settings.md.
"""

SITENAME = "The Loom Collective"
SITESUBTITLE = "Notes from the people who weave the patterns"
SITEURL = ""
RELATIVE_URLS = True  # the built site works from any directory; publishconf.py sets SITEURL
FEED_DOMAIN = "http://127.0.0.1:8000"  # where `make serve` puts it; publishconf.py overrides
AUTHOR = "The Loom Collective editors"
TIMEZONE = "UTC"
DEFAULT_LANG = "en"

PATH = "content"
OUTPUT_PATH = "output"
# Rebuildable state (render cache, post index, Pelican's content cache), next to this file.
CACHE_PATH = "cache"
# Pelican keeps what it read of each post for the next build, which reads again only the
# files whose contents changed (contents, not times: a fresh checkout gives every file a new
# time) and, when Chorus, its plugins or these settings change, every file.
CACHE_CONTENT = True
LOAD_CONTENT_CACHE = True
CHECK_MODIFIED_METHOD = "sha256"
# Not compressed: that would cost more time (about 1 s per 10,000 posts, every build) than the
# disk space is worth.
GZIP_CACHE = False
# Images and other static files are copied only when newer than their copy in the output.
STATIC_CHECK_IF_MODIFIED = True
THEME = "theme"
PLUGIN_PATHS = ["plugins"]
PLUGINS = [
    "chorus_members",
    "chorus_curated",
    "chorus_credit",
    "chorus_mentions",
    "chorus_search",
    "chorus_sitemap",
    "chorus_takedowns",
    "chorus_newsletter",
    "chorus_cards",
    "chorus_render_cache",
]

# Original articles and curated community posts, side by side in one timeline.
ARTICLE_PATHS = ["articles", "community"]
PAGE_PATHS = ["pages"]
STATIC_PATHS = ["images"]
USE_FOLDER_AS_CATEGORY = False
DEFAULT_CATEGORY = "Notes"
ARTICLE_URL = "posts/{date:%Y}/{slug}/"
ARTICLE_SAVE_AS = "posts/{date:%Y}/{slug}/index.html"
PAGE_URL = "{slug}/"
PAGE_SAVE_AS = "{slug}/index.html"
# Member pages take the place of Pelican's author pages.
AUTHOR_SAVE_AS = ""
AUTHORS_SAVE_AS = ""
DEFAULT_PAGINATION = 10
# Lists of posts are paginated from the oldest (CHORUS_FIXED_PAGES): the newest posts at the
# list's own URL, then page/N/ with N counted from the oldest page, so a full page keeps its URL
# and its posts for good, and a new post changes only the first page.
PAGINATION_PATTERNS = (
    (1, "{url}", "{save_as}"),
    (2, "{base_name}/page/{number}/", "{base_name}/page/{number}/index.html"),
)
# Pelican's own pages, plus the search page and a 404 page for static hosts to serve.
DIRECT_TEMPLATES = ["index", "tags", "categories", "archives", "search", "404"]
SEARCH_SAVE_AS = "search/index.html"
SEARCH_URL = "search/"

FEED_ALL_ATOM = "feeds/all.atom.xml"
FEED_ALL_RSS = "feeds/all.rss.xml"
CATEGORY_FEED_ATOM = "feeds/category/{slug}.atom.xml"
TAG_FEED_ATOM = "feeds/tag/{slug}.atom.xml"
FEED_MAX_ITEMS = 30  # feeds are for what is new; the site and its archives keep the rest
TRANSLATION_FEED_ATOM = None
AUTHOR_FEED_ATOM = None
AUTHOR_FEED_RSS = None

# The demo reads its members' feeds from files shipped in the repository, so it builds offline.
# Leave this unset on a real site: member files may then only name http(s) feeds.
CHORUS_LOCAL_FEEDS_DIR = "sample-feeds"

MENUITEMS = ()
DISPLAY_PAGES_ON_MENU = True

# The newsletter (`chorus newsletter`): sections by tag, in this order; other posts go under
# their category. Sending needs CHORUS_SMTP_* and CHORUS_NEWSLETTER_UNSUBSCRIBE_URL (README).
CHORUS_NEWSLETTER_SECTIONS = [
    ("release", "Releases"),
    ("beginners", "For beginners"),
    ("docs", "Documentation"),
    ("patterns", "Patterns"),
    ("community", "Around the community"),
]
