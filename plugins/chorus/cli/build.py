"""``chorus build`` and ``chorus serve``: Pelican with the site's settings (offline)."""

from __future__ import annotations

from pathlib import Path

import click

from chorus.cli.common import Site, pass_site


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

    Example: chorus serve --port 8080
    """
    _run_pelican(
        site,
        publish=False,
        output=None,
        extra=["--autoreload", "--listen", "--port", str(port), "--bind", bind],
    )


def _run_pelican(site: Site, *, publish: bool, output: Path | None, extra: list[str]) -> None:
    import pelican

    settings_file = site.settings_file
    if publish:
        settings_file = settings_file.with_name("publishconf.py")
        if not settings_file.is_file():
            raise click.UsageError(f"--publish needs {settings_file}")
    arguments = ["--settings", str(settings_file), *extra]
    if output:
        arguments += ["--output", str(output)]
    pelican.main(arguments)
