"""Pelican plugin: render again only the pages whose inputs changed since the last build, render
what many pages share once (``render_fragment``), and spare Pelican its quadratic loops
over tags, categories and authors (``prepare_term_pages``).

Every template a generator loads becomes a ``CachedTemplate``, whose ``render`` hands back the
page already in the output directory when nothing it reads has changed (``chorus.site.render_cache``
says how that is decided). Pelican still writes every page, so everything that watches pages
being written sees them all. ``CHORUS_RENDER_CACHE = False`` turns it off; deleting the output
directory (or ``<CACHE_PATH>/chorus/render-manifest.json``) renders every page once.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
import re
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from jinja2 import FileSystemBytecodeCache, Template, pass_context
from jinja2.runtime import Context
from markupsafe import Markup
from pelican import signals
from pelican.contents import Content
from pelican.paginator import Page, Paginator
from pelican.urlwrappers import URLWrapper

from chorus.common.config import apply_defaults
from chorus.common.files import paths_under
from chorus.site.render_cache import (
    FRAGMENT_FUNCTION,
    MANIFEST_NAME,
    OUTPUT_RECORD,
    Fingerprinter,
    PageCache,
    Unstable,
    build_fingerprint,
    remove_stale_outputs,
)

log = logging.getLogger(__name__)
# Per article: what Pelican keeps for itself (the whole site's context and settings, which the
# build's fingerprint covers) rather than what the article is.
CONTENT_INTERNALS = frozenset({"_context", "settings", "metadata"})
COMPILED_TEMPLATES = "chorus/templates"  # under Pelican's CACHE_PATH
_cache: PageCache | None = None  # the build under way
_written: set[str] = set()  # the output files the build under way has written
_static_files: list[tuple[str, Content]] = []  # what it copies: (output directory, file)


def describe(value: Any, reference: bool) -> Any:
    """Pelican's objects as plain data, for the fingerprinter."""
    if isinstance(value, Content):
        if reference:
            return value.source_path
        content = value._content or ""
        linked = []
        if _link_marker(value.settings["INTRASITE_LINK_REGEX"]).search(content):
            linked = _static_links(value, content)
        # Its URLs follow from its metadata and the settings, which the build's fingerprint has.
        metadata = {key: _flat(item) for key, item in value.metadata.items()}
        attributes = {
            key: _flat(item)
            for key, item in vars(value).items()
            if key not in metadata and key not in CONTENT_INTERNALS
        }
        if linked:
            attributes["_static_links"] = linked
        # The body by its digest: hashing it is much cheaper than writing it out as JSON.
        body = (value._content or "").encode("utf-8", "surrogatepass")
        attributes["_content"] = hashlib.blake2b(body, digest_size=16).hexdigest()
        return [metadata, attributes]
    # URLs and file names below follow from names, slugs and numbers, and the settings (which
    # the build's fingerprint covers): working them out again for every page would cost more
    # than the rest of the fingerprint.
    if isinstance(value, URLWrapper):
        return {"name": value.name, "slug": value.slug}
    if isinstance(value, Paginator):
        return {
            "name": value.name,
            "url": value.url,
            "per_page": value.per_page,
            "orphans": value.orphans,
            "object_list": value.object_list,
        }
    if isinstance(value, Page):
        # Its name, URL and posts are its paginator's, cut at its number (Paginator.page).
        return {"paginator": value.paginator, "number": value.number}
    raise Unstable(f"cannot fingerprint a {type(value).__qualname__}")


class ArticleList(list):  # type: ignore[type-arg]
    """A list of articles whose ``in`` is a set lookup.

    Pelican writes each tag, category and author page with ``[a for a in dates if a in
    articles]``: one list scan per article per term, quadratic, seconds on a site of 10,000
    posts. Articles compare by identity, so a set of ids answers the same question at once.
    """

    def __init__(self, articles: Any) -> None:
        super().__init__(articles)
        self._index()

    def _index(self) -> None:
        self._ids = {id(article) for article in self}
        self._indexed_length = len(self)

    def __contains__(self, article: object) -> bool:
        if len(self) != self._indexed_length:  # changed since (by a plugin): index it again
            self._index()
        return id(article) in self._ids


def prepare_term_pages(generator: Any) -> None:
    """Once the articles are read: their lists per tag, category and author as ArticleLists, and
    no lists at all for the kinds of term that have no pages."""
    for tag, articles in generator.tags.items():
        generator.tags[tag] = ArticleList(articles)
    generator.categories = [(term, ArticleList(items)) for term, items in generator.categories]
    generator.authors = [(term, ArticleList(items)) for term, items in generator.authors]
    # Pelican scans every post for each term before it finds that it writes no page for it
    # (AUTHOR_SAVE_AS = "" on Chorus sites, whose members have pages of their own).
    for setting, method in (
        ("TAG_SAVE_AS", "generate_tags"),
        ("CATEGORY_SAVE_AS", "generate_categories"),
        ("AUTHOR_SAVE_AS", "generate_authors"),
    ):
        if not generator.settings.get(setting):
            setattr(generator, method, _write_nothing)


def _write_nothing(write: Any) -> None:
    """A generator's step for pages the settings say are not written."""


def fix_urls(generators: list[Any]) -> None:
    """Work out each article's and page's URL and file name once.

    Pelican works them out from the settings again on every read of ``.url`` and ``.save_as``:
    tens of thousands of times in a large site's build (every list, feed and index names every
    post). Once every plugin has had its say (this plugin comes last), they can no longer
    change, so they are kept in ``override_url`` and ``override_save_as``, which Pelican reads
    first. (Not for static files: a post's {attach} link may still move one.)
    """
    for generator in generators:
        for name in ("articles", "translations", "drafts", "drafts_translations", "pages"):
            for content in getattr(generator, name, ()):
                if not hasattr(content, "override_url"):
                    content.override_url = content.url
                if not hasattr(content, "override_save_as"):
                    content.override_save_as = content.save_as


def _static_links(content: Content, html: str) -> list[list[str]]:
    """The static files the ``{static}`` links of ``content`` point at, and their URLs: what
    its HTML follows from, with the settings. A post whose images ``chorus fetch`` keeps links
    them so. Any other intrasite link ({filename} and the like) points at other content, and
    one not found is left as it is with a warning: Unstable, rendered every time."""
    static = (content._context or {}).get("static_content", {})
    linked = []
    for match in content._get_intrasite_link_regex().finditer(html):
        if match["what"] != "static":
            raise Unstable(f"{content.source_path} links to other content")
        found = None
        written = urlparse(match["value"]).path
        for path in dict.fromkeys((written, unquote(written))):  # as Pelican looks for it
            if path.startswith("/"):
                key = path[1:]
            else:
                key = content.get_relative_source_path(os.path.join(content.relative_dir, path))
            if (found := static.get(key)) is not None:
                break
        if found is None:
            raise Unstable(f"{content.source_path} links to a file that is not there")
        # Not ``.url``: that marks a static file as referenced, which an {attach} then
        # may not move; Pelican's own rendering of the page decides that, as without us.
        linked.append([key, found.get_url_setting("url")])
    return linked


@functools.cache
def _link_marker(pattern: str) -> re.Pattern[str]:
    """Pelican's link marker ({filename} and the like) alone: a quick no before the full test."""
    return re.compile(pattern)


def _flat(value: Any) -> Any:
    """An article's tags, category and authors by name and slug, in place: each article has
    objects of its own for them, and digesting each apart would cost more than the article."""
    if isinstance(value, URLWrapper):
        return [type(value).__name__, value.name, value.slug]
    if isinstance(value, list) and value and isinstance(value[0], URLWrapper):
        return [_flat(item) for item in value]
    return value


def install(generators: list[Any]) -> None:
    """Before anything is written: give every generator's templates ``render_fragment``, and
    make them cached ones."""
    global _cache
    _cache = None
    _written.clear()
    _static_files.clear()
    if not generators:
        return
    for generator in generators:
        # Named once written: reading a static file's save_as now would fix its place before
        # a post's {attach} link can move it next to the post.
        _static_files.extend(
            (generator.output_path, static) for static in getattr(generator, "staticfiles", ())
        )
    _cache = cache = _page_cache(generators[0].settings)
    generators[0].context["chorus_render_cache"] = cache  # for the writer's feeds
    environments = [g.env for g in generators if getattr(g, "env", None) is not None]
    fragment = pass_context(functools.partial(render_fragment, cache))
    for environment in environments:
        environment.globals[FRAGMENT_FUNCTION] = fragment
    if cache is None:
        return

    class CachedTemplate(Template):
        def render(self, *args: Any, **kwargs: Any) -> str:
            if kwargs or len(args) != 1 or not isinstance(args[0], dict):
                return super().render(*args, **kwargs)
            return cache.render(self, args[0], lambda: super(CachedTemplate, self).render(*args))

    # Templates compiled to Python by the last build, for this one (Jinja checks each against
    # its source): compiling the theme costs about a second of every build.
    compiled = FileSystemBytecodeCache(_compiled_templates_dir(generators[0].settings))
    for environment in environments:
        environment.template_class = CachedTemplate
        environment.bytecode_cache = compiled
        # Pelican makes new environments for each build (with --autoreload too), and templates
        # do not change during one: no need to look at a template's file each time it is used.
        environment.auto_reload = False
        if environment.cache is not None:
            environment.cache.clear()  # templates compiled before now are plain ones
    for generator in generators:
        getattr(generator, "_templates", {}).clear()


def _page_cache(settings: dict[str, Any]) -> PageCache | None:
    """This build's render cache; None when it is off."""
    if not settings["CHORUS_RENDER_CACHE"]:
        return None
    try:
        build = build_fingerprint(settings, describe)
    except Unstable as reason:
        log.info("render cache off for this build: %s", reason)
        return None
    return PageCache(
        Path(settings["CACHE_PATH"]) / MANIFEST_NAME,
        build,
        Path(settings["OUTPUT_PATH"]),
        Fingerprinter(describe),
        constants=settings,
    )


def _compiled_templates_dir(settings: dict[str, Any]) -> str:
    directory = Path(settings["CACHE_PATH"]) / COMPILED_TEMPLATES
    directory.mkdir(parents=True, exist_ok=True)
    return str(directory)


def render_fragment(cache: PageCache | None, context: Context, name: str, **values: Any) -> Markup:
    """``render_fragment(name, **values)`` in a template (with ``cache`` and the template's
    ``context`` bound): what template ``name`` renders, as ``{% include %}`` would with
    ``values`` set, kept by ``cache`` (rendered every time when the render cache is off)."""
    template = context.environment.get_template(name, parent=context.name)

    def render() -> str:
        # As {% include %} renders (not the CachedTemplate's render, which is for whole pages).
        local = template.new_context(context.get_all(), shared=True, locals=values)
        return template.environment.concat(template.root_render_func(local))

    if cache is None:
        return Markup(render())
    return Markup(cache.fragment(template, values, context, render))


def note_written(path: str, **kwargs: Any) -> None:
    """A page or feed the build wrote (Pelican's content_written and feed_written)."""
    _written.add(path)


def remove_stale(pelican_object: Any) -> None:
    """Once everything is written: remove what the last build wrote and this one did not, so
    that a rebuild leaves the tree a clean build does."""
    settings = pelican_object.settings
    output = Path(settings["OUTPUT_PATH"])
    for output_path, static in _static_files:
        # A file a post links to but the repository no longer holds is not copied: the
        # copy of the last build goes, as a clean build would not have it.
        if os.path.exists(static.source_path):
            _written.add(os.path.join(output_path, static.save_as))
    _static_files.clear()
    under_output = paths_under(output)
    written = [name for name in map(under_output, _written) if name is not None]
    removed = remove_stale_outputs(
        Path(settings["CACHE_PATH"]) / OUTPUT_RECORD,
        output,
        written,
        settings.get("OUTPUT_RETENTION") or (),
    )
    for name in removed:
        log.info("removed %s: this build no longer writes it", name)
    _written.clear()


def finish(pelican_object: Any) -> None:
    """Once everything is written: record what the cache holds, then remove stale files."""
    save(pelican_object)
    remove_stale(pelican_object)


def save(pelican_object: Any) -> None:
    global _cache
    if _cache is None:
        return
    # Feeds the cache kept were not written again, and so not signalled: they are output too.
    _written.update(str(_cache.output_dir / name) for name in _cache.current)
    _cache.save()
    log.info(
        "render cache: %d pages rendered, %d kept; %d fragments rendered, %d kept",
        _cache.rendered,
        _cache.kept,
        _cache.fragments_rendered,
        _cache.fragments_kept,
    )
    _cache = None


def check_settings(pelican_object: Any) -> None:
    apply_defaults(pelican_object.settings)


def register() -> None:
    signals.initialized.connect(check_settings)
    signals.article_generator_finalized.connect(prepare_term_pages)
    signals.all_generators_finalized.connect(fix_urls)
    signals.all_generators_finalized.connect(install)
    signals.content_written.connect(note_written)
    signals.feed_written.connect(note_written)
    signals.finalized.connect(finish)
