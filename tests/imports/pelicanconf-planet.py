# A Pelican site using a planet plugin (pelican-planet). Never executed by the importer.
import os

AUTHOR = "Rosa"
SITENAME = "Planet Loom"
PLUGINS = ["pelican_planet"]

PLANET_FEEDS = {
    "Ada Lovelace": "https://ada.example/feed.atom",
    "Bob Weaver": "https://bob.example/rss.xml",
    "Broken": "not a url",
}
PLANET_TEMPLATE = "planet.md.tmpl"
PLANET_PAGE = os.path.join("content", "planet.md")
