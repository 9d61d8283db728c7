"""Which pages of a build can be kept from the last one, instead of being rendered again.

Pelican renders every page on every build: on a site of 10,000 posts, one new post means 10,000
article pages rendered again, nearly all of them to the same HTML. A page renders to the same
HTML when its template and every value that template reads are unchanged; so before rendering a
page, ``PageCache`` works out its fingerprint, and when the page's output file still holds what
was rendered for that fingerprint last time, hands that back instead of rendering.

A page's fingerprint covers:

- the build (``build_fingerprint``): the versions of Python, Pelican, Chorus and the libraries
  that shape pages, every setting, and every file of the theme and of the plugins (change any
  of them and every page is rendered again);
- the page: its output name, its template and every template that one extends, includes or
  imports, and the value of every variable those templates read, as Jinja's own analysis finds
  them. A template that lists all the articles changes with any of them; one that shows a
  single article changes only with that article.

Parts of pages that many pages show (a timeline entry on the home, category and tag pages) can
be templates of their own, rendered with the template global ``render_fragment(name, **values)``:
each is fingerprinted in the same way, from what its template reads, rendered once per build
and kept between builds (``PageCache.fragment``). A page's analysis counts the templates of
the fragments it renders among its own.

Plain values, containers and dataclasses are fingerprinted as they are; any other object that
a plugin puts in the context can say what of it reaches a page with a ``render_key()`` method
returning plain data. Whatever cannot be fingerprinted soundly (an object of an unknown kind, a
template whose name is only known at render time) is rendered every time. Nothing here imports
Pelican: the plugin says how Pelican's objects are described (``describe``).
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import logging
import os
import re
import sys
import sysconfig
from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime, time, timedelta, tzinfo
from enum import Enum
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path, PurePath
from types import BuiltinFunctionType, FunctionType, MethodType, ModuleType
from typing import Any

from jinja2 import Environment, meta, nodes
from jinja2.exceptions import TemplateError

import chorus
from chorus.common.files import Unchanged, write_atomic

log = logging.getLogger(__name__)
MANIFEST_NAME = "chorus/render-manifest.json"  # under Pelican's CACHE_PATH
MANIFEST_FORMAT = 5
FRAGMENT_FUNCTION = "render_fragment"  # the template global that renders a fragment


class Unstable(Exception):
    """A value whose fingerprint could not be trusted: the page is rendered."""


# Turns an object the fingerprinter does not know into plain data, or raises Unstable.
# ``reference`` asks only for what identifies it: the object is already being described (a
# cycle, such as an article among its translation's translations).
Describe = Callable[[Any, bool], Any]


def _no_description(value: Any, reference: bool) -> Any:
    raise Unstable(f"cannot fingerprint a {type(value).__qualname__}")


class Fingerprinter:
    """Stable digests of the values templates are given.

    Values are written out as JSON (the C encoder does the bulk of the work) and hashed; what
    JSON has no form for is turned into plain data first. The digest of every object is
    remembered for the whole build, along with the object (so that its ``id`` cannot be
    reused): the site-wide values that every page reads, and each article that many list pages
    show, are digested once.
    """

    def __init__(self, describe: Describe = _no_description) -> None:
        self.describe = describe
        self._memo: dict[int, tuple[Any, str]] = {}
        self._in_progress: set[int] = set()
        self._encoder = json.JSONEncoder(ensure_ascii=False, default=self._plain)

    def digest(self, value: Any) -> str:
        remembered = self._memo.get(id(value))
        if remembered is not None and remembered[0] is value:
            return remembered[1]
        if isinstance(value, str | int | float | bool | type(None)):
            # Settings, mostly, read by every page: written out, they are their own digest.
            result = repr(value)
            self._memo[id(value)] = (value, result)
            return result
        self._in_progress.add(id(value))
        try:
            text = self._encoder.encode(self._payload(value))
        except (ValueError, TypeError, RecursionError) as error:  # a cycle, an odd key
            raise Unstable(f"{type(value).__qualname__}: {error}") from None
        finally:
            self._in_progress.discard(id(value))
        result = _hash(text)
        self._memo[id(value)] = (value, result)
        return result

    def _payload(self, value: Any) -> Any:
        """``value`` itself as JSON-ready data, one level deep (``_plain`` does the rest)."""
        if isinstance(value, dict | list | tuple | str | int | float | bool | type(None)):
            return value
        simple = _simple(value)
        if simple is not None:
            return simple
        kind = _kind(value)
        if dataclasses.is_dataclass(value):
            return {kind: [[f.name, getattr(value, f.name)] for f in dataclasses.fields(value)]}
        if callable(getattr(value, "render_key", None)):
            # An object that says itself what of it reaches a page (see the module docstring).
            return {kind: value.render_key()}
        return {kind: self.describe(value, False)}

    def _plain(self, value: Any) -> Any:
        """The JSON encoder's fallback: a value nested in another, as something it can write."""
        remembered = self._memo.get(id(value))
        if remembered is not None and remembered[0] is value:
            return {_kind(value): remembered[1]}  # the common case: an article in a list
        simple = _simple(value)
        if simple is not None:
            return simple
        if id(value) in self._in_progress:
            # A cycle (an article among its translation's translations): name it only.
            return {_kind(value): self.describe(value, True)}
        return {_kind(value): self.digest(value)}


def _simple(value: Any) -> Any:
    """Values with an obvious plain form, or None."""
    if isinstance(value, datetime | date | time | timedelta | tzinfo | PurePath | Enum):
        return f"{type(value).__qualname__}:{value!r}"
    if isinstance(value, Mapping):
        return {"mapping": [[key, item] for key, item in value.items()]}
    if isinstance(value, set | frozenset):
        return {"set": sorted(value, key=repr)}
    if isinstance(value, bytes):
        return {"bytes": hashlib.blake2b(value, digest_size=16).hexdigest()}
    if isinstance(value, re.Pattern):
        return {"re": [value.pattern, value.flags]}
    if isinstance(value, FunctionType | MethodType | BuiltinFunctionType | type):
        closure = getattr(getattr(value, "__func__", value), "__closure__", None) or ()
        # What a function closes over is part of what it does (a filter made by a factory).
        return [_callable_key(value), [cell.cell_contents for cell in closure]]
    if isinstance(value, ModuleType):
        return f"module:{value.__name__}"
    return None


@functools.cache
def _kind_of(kind: type) -> str:
    return f"{kind.__module__}.{kind.__qualname__}"


def _kind(value: Any) -> str:
    return _kind_of(type(value))


def _callable_key(value: Any) -> str:
    """A function by its name and its code, so that editing it changes the fingerprint."""
    name = f"{getattr(value, '__module__', '')}.{getattr(value, '__qualname__', value)!s}"
    code = getattr(getattr(value, "__func__", value), "__code__", None)
    if code is None:
        return f"fn:{name};"
    constants = repr([c for c in code.co_consts if not hasattr(c, "co_code")])
    return f"fn:{name}:{_hash(code.co_code.hex() + constants)};"


def _hash(text: str) -> str:
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


def template_inputs(
    environment: Environment,
    name: str,
    parsed: dict[str, Any] | None = None,
    analyses: dict[str, Any] | None = None,
) -> tuple[frozenset[str], str] | None:
    """The context variables that template ``name``, and every template it extends, includes,
    imports or renders as a fragment, may read; and a digest of all their sources. None when
    one of those templates is only named at render time, so that what the page reads cannot be
    known. ``parsed`` keeps what each template holds between calls (most templates share a base
    and macros); ``analyses`` keeps, by the digest of a source, what Jinja's analysis found in
    it, as plain data that can be kept between builds (parsing is the costly part)."""
    parsed = {} if parsed is None else parsed
    analyses = {} if analyses is None else analyses
    variables: set[str] = set()
    sources: list[str] = []
    pending, seen = [name], set()
    while pending:
        current = pending.pop()
        if current in seen:
            continue
        seen.add(current)
        if current not in parsed:
            try:
                source, _, _ = environment.loader.get_source(environment, current)  # type: ignore[union-attr]
                digest = _hash(source)
                if digest not in analyses:
                    tree = environment.parse(source)
                    analyses[digest] = [
                        sorted(meta.find_undeclared_variables(tree)),
                        [*meta.find_referenced_templates(tree), *_fragments_rendered(tree)],
                    ]
            except (TemplateError, OSError, AttributeError):
                return None
            found, referenced = analyses[digest]
            parsed[current] = (frozenset(found), referenced, digest)
        found, referenced, digest = parsed[current]
        if None in referenced:
            return None
        variables |= found
        sources.append(f"{current}:{digest}")
        pending.extend(referenced)
    return frozenset(variables), _hash("\n".join(sorted(sources)))


def _fragments_rendered(tree: nodes.Template) -> list[str | None]:
    """The templates ``tree`` renders with ``render_fragment``; None for a name that is only
    known at render time."""
    names: list[str | None] = []
    for call in tree.find_all(nodes.Call):
        if isinstance(call.node, nodes.Name) and call.node.name == FRAGMENT_FUNCTION:
            first = call.args[0] if call.args else None
            constant = isinstance(first, nodes.Const) and isinstance(first.value, str)
            names.append(first.value if constant else None)  # type: ignore[union-attr]
    return names


def files_fingerprint(roots: Iterable[Path]) -> str:
    """Names and contents of every file under ``roots`` (code and themes). Contents, not
    modification times: a fresh checkout (in CI, with the cache directory restored) has new
    times but the same code, and reading a few megabytes costs milliseconds."""
    digest = hashlib.blake2b(digest_size=16)
    for root in sorted({Path(root) for root in roots}):
        for directory, subdirectories, files in os.walk(root):
            subdirectories[:] = sorted(d for d in subdirectories if d != "__pycache__")
            for name in sorted(files):
                path = os.path.join(directory, name)
                try:
                    with open(path, "rb") as handle:
                        content = handle.read()
                except OSError:
                    continue
                label = os.path.relpath(path, os.path.dirname(root))
                digest.update(f"{label}\0{len(content)}\0".encode())
                digest.update(content)
    return digest.hexdigest()


def modules_fingerprint(modules: Mapping[str, Any], known: Iterable[Path]) -> str:
    """Names and contents of the source files of ``modules`` (``sys.modules``) that are neither
    part of the Python installation nor under ``known`` (hashed already): the settings file and
    the code it imports, whose filters and globals shape pages as much as the theme does.

    Raises Unstable when such a module's source cannot be read: then what it does is unknown.
    """
    # "scripts" holds the console scripts (`pelican`, `chorus`) that start a build as
    # ``__main__``: wrappers of the packages' own code, which would otherwise make a build
    # started by one command render every page again after a build started by the other.
    installed = {
        Path(path).resolve()
        for name, path in sysconfig.get_paths().items()
        if name in ("stdlib", "platstdlib", "purelib", "platlib", "scripts")
    }
    skip = tuple(str(path) + os.sep for path in {*installed, *(Path(k).resolve() for k in known)})
    digest = hashlib.blake2b(digest_size=16)
    for name in sorted(modules):
        filename = getattr(modules[name], "__file__", None)
        if not filename:
            continue  # built in, or a namespace package: no code of its own
        path = str(Path(filename).resolve())
        if path.startswith(skip):
            continue
        try:
            with open(path, "rb") as handle:
                content = handle.read()
        except OSError as error:
            raise Unstable(f"the code of module {name} cannot be read ({error})") from None
        digest.update(f"{name}\0{len(content)}\0".encode())
        digest.update(content)
    return digest.hexdigest()


# The libraries whose versions shape what a build makes of the same files, besides Chorus.
SHAPING_PACKAGES = ("pelican", "jinja2", "markdown", "nh3", "lxml", "beautifulsoup4")


def build_fingerprint(settings: Mapping[str, Any], describe: Describe = _no_description) -> str:
    """What a build makes of its content follows from, beyond the content: the versions of
    Python, of Chorus and of the libraries that shape pages, every setting, every file of the
    theme and of the loaded plugins, and the settings file with what it imports.

    Raises Unstable when one of them cannot be fingerprinted (a setting of an unknown kind, a
    module whose source cannot be read).
    """
    code = code_directories(settings)
    return Fingerprinter(describe).digest(
        {
            "versions": [sys.version, *map(_version, SHAPING_PACKAGES), chorus.__version__],
            "settings": {k: v for k, v in settings.items() if k != "PLUGINS"},
            "code": [files_fingerprint(code), modules_fingerprint(sys.modules, code)],
        }
    )


def code_directories(settings: Mapping[str, Any]) -> list[Path]:
    """The theme, every loaded plugin's package and Chorus's own: code that shapes pages."""
    directories = [Path(settings["THEME"])]
    for name in settings.get("PLUGINS") or ():
        module = sys.modules.get(name if isinstance(name, str) else getattr(name, "__name__", ""))
        if module is not None and getattr(module, "__file__", None):
            directories.append(Path(module.__file__).parent)
    directories.append(Path(chorus.__file__).parent)
    return directories


def _version(package: str) -> str:
    try:
        return version(package)
    except PackageNotFoundError:
        return "?"


MISSING = object()  # a variable the template reads but the page is not given


class PageCache:
    """Renders a page only when its fingerprint differs from the one its output file was
    rendered for, and a fragment only when its fingerprint is new; remembers, per output file,
    that fingerprint and the file's size and time, and each fragment's HTML."""

    def __init__(
        self,
        manifest: Path,
        build: str,
        output_dir: Path,
        fingerprinter: Fingerprinter,
        constants: Mapping[str, Any] | None = None,
    ) -> None:
        self.manifest = manifest
        self.build = build
        self.output_dir = output_dir
        # As text: a path object made for each of a large site's pages, three times a build,
        # costs more than the stat it is for.
        self._output = str(output_dir)
        self.fingerprints = fingerprinter
        # Values the build's fingerprint already covers (the settings): a page that is given
        # one of them unchanged need not digest it again.
        self.constants = constants or {}
        # Per output file: the fingerprint it was made for, and its size and time once written.
        self.previous: dict[str, list[Any]] = {}
        self.current: dict[str, list[Any]] = {}
        # Fragments: their HTML by fingerprint, as rendered last build and in this one; and
        # the fingerprints of those each page showed, so that a build which keeps the page
        # keeps its fragments for the next build that renders it.
        self.previous_fragments: dict[str, str] = {}
        self.fragments: dict[str, str] = {}
        self.previous_shown: dict[str, list[str]] = {}
        self.shown: dict[str, list[str]] = {}
        self._showing: list[str] | None = None  # of the page being rendered
        self._seen_fragments: dict[tuple[Any, ...], tuple[tuple[Any, ...], str, str]] = {}
        # What Jinja's analysis found in each template source, by the source's digest.
        self.analyses: dict[str, Any] = {}
        self._load()
        self.rendered = self.kept = self.fragments_rendered = self.fragments_kept = 0
        self._templates: dict[str, tuple[tuple[str, ...], str] | None] = {}
        self._parsed: dict[str, Any] = {}

    def render(self, template: Any, context: Mapping[str, Any], render: Callable[[], str]) -> str:
        """The page ``template`` renders from ``context``: kept from the last build when its
        fingerprint is unchanged and its output file untouched, else ``render()``."""
        name = context.get("output_file")
        fingerprint = self.fingerprint(template, context) if isinstance(name, str) else None
        if fingerprint is not None and self._kept(name, fingerprint):
            try:
                with open(os.path.join(self._output, name), encoding="utf-8") as page:
                    html = page.read()
            except (OSError, UnicodeDecodeError):
                del self.current[name]
            else:
                self.kept += 1
                if name in self.previous_shown:
                    self.shown[name] = self.previous_shown[name]
                return Unchanged(html)
        self._showing = []
        try:
            html = render()
        finally:
            showing, self._showing = self._showing, None
        self.rendered += 1
        if fingerprint is not None:
            self.current[name] = [fingerprint]  # the file's size and time once it is written
            if showing:
                self.shown[name] = showing
        return html

    def fragment(
        self,
        template: Any,
        given: Mapping[str, Any],
        context: Mapping[str, Any],
        render: Callable[[], str],
    ) -> str:
        """What ``template`` renders from the values it is ``given`` and its page's ``context``,
        as part of that page: rendered by ``render()`` once per build, and kept between builds,
        for each fingerprint."""
        reads = self._reads(template)
        if reads is None:
            self.fragments_rendered += 1
            return render()
        variables, sources = reads
        values = tuple(
            given[variable] if variable in given else context.get(variable, MISSING)
            for variable in variables
        )
        # Within one build, the very same values (which do not change while pages are written)
        # give the same HTML: known by their identities, before any digest is worked out.
        identity = (sources, *map(id, values))
        seen = self._seen_fragments.get(identity)
        if seen is not None:
            self._show(seen[2])
            return seen[1]
        try:
            fingerprint = self._digest(sources, "", variables, values)
        except Unstable as reason:
            log.debug("fragment %s is rendered (%s)", template.name, reason)
            self.fragments_rendered += 1
            return render()
        html = self.fragments.get(fingerprint)
        if html is None:
            html = self.previous_fragments.get(fingerprint)
            if html is None:
                html = render()
                self.fragments_rendered += 1
            else:
                self.fragments_kept += 1
            self.fragments[fingerprint] = html
        self._seen_fragments[identity] = (values, html, fingerprint)  # values: ids stay theirs
        self._show(fingerprint)
        return html

    def _show(self, fingerprint: str) -> None:
        if self._showing is not None:
            self._showing.append(fingerprint)

    def write(self, name: str, inputs: Any, write: Callable[[], object]) -> bool:
        """Call ``write()`` to make output file ``name`` from ``inputs`` (everything it is made
        from), unless the file is still what the same inputs made last time. True if written.
        A ``write()`` that returns False made a file not to be kept for the next build."""
        try:
            fingerprint = _hash(f"{self.build}\n{name}\n{self.fingerprints.digest(inputs)}")
        except Unstable as reason:
            log.debug("%s is written (%s)", name, reason)
            write()
            return True
        if self._kept(name, fingerprint):
            self.kept += 1
            return False
        keep = write() is not False
        self.rendered += 1
        if keep:
            self.current[name] = [fingerprint]
        return True

    def fingerprint(self, template: Any, context: Mapping[str, Any]) -> str | None:
        """The page's fingerprint, or None when it cannot be trusted."""
        reads = self._reads(template)
        if reads is None:
            return None
        variables, sources = reads
        values = [context.get(variable, MISSING) for variable in variables]
        try:
            return self._digest(sources, str(context.get("output_file")), variables, values)
        except Unstable as reason:
            log.debug("%s is rendered (%s)", context.get("output_file"), reason)
            return None

    def _digest(
        self, sources: str, page: str, variables: Iterable[str], values: Iterable[Any]
    ) -> str:
        """The fingerprint of templates (``sources``) reading ``values`` for ``variables``."""
        parts = [self.build, sources, page]
        digest = self.fingerprints.digest
        constants = self.constants
        for variable, value in zip(variables, values, strict=True):
            if value is MISSING:
                parts.append("-")
            elif constants.get(variable, MISSING) is value:
                parts.append("=")
            else:
                parts.append(digest(value))
        # The variables come in one fixed order per template, so their values alone will do.
        return _hash("\n".join(parts))

    def _reads(self, template: Any) -> tuple[tuple[str, ...], str] | None:
        name = getattr(template, "name", None)
        if name is None:
            return None
        if name not in self._templates:
            inputs = template_inputs(template.environment, name, self._parsed, self.analyses)
            # Sorted once here, so that every page of the template hashes them in one order.
            self._templates[name] = inputs and (tuple(sorted(inputs[0])), inputs[1])
            if self._templates[name] is None:
                log.info("%s: what it reads cannot be known; its pages are always rendered", name)
        return self._templates[name]

    def _kept(self, name: str, fingerprint: str) -> bool:
        """Whether output file ``name`` is still what ``fingerprint`` made last time: the same
        size and modification time (to the nanosecond) as when that build ended."""
        recorded = self.previous.get(name)
        if recorded is None or recorded[0] != fingerprint:
            return False
        try:
            stat = os.stat(os.path.join(self._output, name))
        except OSError:
            return False
        if [stat.st_size, stat.st_mtime_ns] != recorded[1:]:
            return False  # edited or replaced since: make it again
        self.current[name] = recorded
        return True

    def _load(self) -> None:
        try:
            document = json.loads(self.manifest.read_text(encoding="utf-8"))
            if document["format"] == MANIFEST_FORMAT and document["build"] == self.build:
                # Analyses too only hold for this build: the settings shape Jinja's parser.
                pages, templates = dict(document["pages"]), dict(document["templates"])
                self.previous_fragments = dict(document["fragments"])
                self.previous_shown = dict(document["shown"])
                self.previous, self.analyses = pages, templates
                return
            log.info(
                "settings, theme or plugins changed since the last build: every page is rendered"
            )
        except FileNotFoundError:
            pass
        except (OSError, ValueError, KeyError, TypeError) as error:
            log.info("ignoring the unreadable render cache %s (%s)", self.manifest, error)

    def save(self) -> None:
        """Record what this build rendered or kept (pages it no longer writes are dropped),
        once every file is written."""
        for name, record in list(self.current.items()):
            # Kept pages too: a writer other than Chorus's may have written them again.
            try:
                stat = os.stat(os.path.join(self._output, name))
            except OSError:
                del self.current[name]
                continue
            self.current[name] = [record[0], stat.st_size, stat.st_mtime_ns]
        used = {digest for _, _, digest in self._parsed.values()}
        shown = {name: self.shown[name] for name in self.current if name in self.shown}
        # This build's fragments, and last build's that the pages it kept show.
        fragments = dict(self.fragments)
        for fingerprints in shown.values():
            for fingerprint in fingerprints:
                if fingerprint not in fragments and fingerprint in self.previous_fragments:
                    fragments[fingerprint] = self.previous_fragments[fingerprint]
        document = {
            "format": MANIFEST_FORMAT,
            "build": self.build,
            "pages": self.current,
            "templates": {digest: self.analyses[digest] for digest in sorted(used)},
            "fragments": fragments,
            "shown": shown,
        }
        try:
            write_atomic(self.manifest, json.dumps(document, separators=(",", ":")))
        except OSError as error:
            log.warning(
                "cannot write %s (%s); the next build renders every page", self.manifest, error
            )


OUTPUT_RECORD = "chorus/output-files.json"  # under Pelican's CACHE_PATH


def remove_stale_outputs(
    record: Path, output_dir: Path, written: Iterable[str], retention: Iterable[str] = ()
) -> list[str]:
    """Remove the files that the build before this one wrote into ``output_dir`` (as
    ``record`` lists them) and this one did not (``written``, relative to ``output_dir``):
    pages of deleted posts, removed members, unpublished issues. Files no build recorded (a
    CNAME copied by hand) and top-level names in ``retention`` (OUTPUT_RETENTION) stay.
    Then record ``written`` for the next build. The names of the removed files are returned.
    """
    output = output_dir.resolve()
    current = sorted(set(written))
    previous: list[str] = []
    try:
        document = json.loads(record.read_text(encoding="utf-8"))
        if document["output"] == str(output):  # another directory's files are not ours
            previous = list(document["files"])
    except FileNotFoundError:
        pass
    except (OSError, ValueError, KeyError, TypeError) as error:
        log.info("ignoring the unreadable record %s (%s)", record, error)
    kept = set(current) | set(retention)
    removed = []
    for name in previous:
        if name in kept or PurePath(name).parts[0] in kept:
            continue
        path = (output / name).resolve()  # only now: resolving every name costs seconds
        if output not in path.parents:
            continue
        try:
            path.unlink()
        except FileNotFoundError:
            continue
        except OSError as error:
            log.warning("cannot remove %s, which this build no longer writes (%s)", path, error)
            continue
        removed.append(name)
        # Its directory too, and theirs, once empty (a clean build would not have them).
        for directory in path.parents:
            if directory == output:
                break
            try:
                directory.rmdir()
            except OSError:
                break
    try:
        write_atomic(record, json.dumps({"output": str(output), "files": current}, indent=0))
    except OSError as error:
        log.warning("cannot write %s (%s); the next build removes nothing", record, error)
    return removed
