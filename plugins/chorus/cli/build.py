"""``chorus build`` and ``chorus serve``: Pelican with the site's settings (offline)."""

from __future__ import annotations

import threading
from http import HTTPStatus
from pathlib import Path
from typing import TYPE_CHECKING

import click

from chorus.cli.common import Site, console, pass_site, relative

if TYPE_CHECKING:
    from http.server import HTTPServer


@click.command()
@click.option("--publish", is_flag=True, help="Build with publishconf.py for deployment.")
@click.option("-o", "--output", type=click.Path(path_type=Path), help="Output directory.")
@click.option("--strict", is_flag=True, help="Fail on any warning.")
@pass_site
def build(site: Site, publish: bool, output: Path | None, strict: bool) -> None:
    """Build the site with Pelican (offline: posts are already in content/).

    Example: chorus build --publish
    """
    _run_pelican(site, publish=publish, output=output, extra=["--fatal", "warnings"] * strict)


@click.command()
@click.option("-p", "--port", default=8000, show_default=True, help="Port to listen on.")
@click.option("-b", "--bind", default="127.0.0.1", show_default=True, help="Address to bind.")
@pass_site
def serve(site: Site, port: int, bind: str) -> None:
    """Build the site, serve it locally and rebuild when files change.

    A missing page gets the site's 404.html. Example: chorus serve --port 8080
    """
    output = Path(site.settings["OUTPUT_PATH"])
    try:
        server = _dev_server(output, bind, port)
    except OSError as error:
        raise click.ClickException(
            f"cannot serve on {bind}:{port}: {error.strerror or error}. Is another chorus serve "
            f"running? Choose another port: chorus serve --port {port + 1}"
        ) from None
    # Bound before the first build, so a busy port fails at once; Pelican rebuilds meanwhile.
    threading.Thread(target=server.serve_forever, name="chorus-serve", daemon=True).start()
    console.print(f"Serving {relative(output)}/ at http://{bind}:{port}/ (Ctrl-C stops)")
    try:
        _run_pelican(site, publish=False, output=None, extra=["--autoreload"])
    finally:
        server.shutdown()
        server.server_close()


def _dev_server(output: Path, bind: str, port: int) -> HTTPServer:
    """Pelican's development server, with the site's own 404 page for a missing one."""
    from http.server import HTTPServer

    from pelican.server import ComplexHTTPRequestHandler

    class Handler(ComplexHTTPRequestHandler):
        base_path = str(output)

        def do_GET(self) -> None:
            # Pelican's handler sends no reply at all for a page it cannot find.
            if self.get_path_that_exists(self.path.split("?", 1)[0]) is None:
                self.send_error(HTTPStatus.NOT_FOUND)
            else:
                super().do_GET()

        def send_error(
            self, code: int, message: str | None = None, explain: str | None = None
        ) -> None:
            page = output / "404.html"
            if code != HTTPStatus.NOT_FOUND or not page.is_file():
                super().send_error(code, message, explain)
                return
            # Its links are relative to the site's root, wherever the missing page was asked.
            body = page.read_bytes().replace(b"<head>", b'<head>\n<base href="/">', 1)
            self.send_response(code)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

    return HTTPServer((bind, port), Handler)


def _run_pelican(site: Site, *, publish: bool, output: Path | None, extra: list[str]) -> None:
    import pelican

    settings_file = site.existing_settings_file()
    if publish:
        settings_file = settings_file.with_name("publishconf.py")
        if not settings_file.is_file():
            raise click.UsageError(f"--publish needs {settings_file}")
    arguments = ["--settings", str(settings_file), *extra]
    if output:
        arguments += ["--output", str(output)]
    pelican.main(arguments)
