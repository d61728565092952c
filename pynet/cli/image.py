"""``pynet image ...``: import, ls, rm, inspect (Docker's flags).

pynet has no registry: ``image import`` registers a local root filesystem (a directory
or a tarball) under ``NAME[:TAG]``; ``run --image NAME`` runs a container in it. The
bodies are in ``pynet.cli.image_actions`` (click-free).
"""

from __future__ import annotations

import click

from pynet.cli.base import action
from pynet.cli.network import AliasGroup


@click.group(cls=AliasGroup)
def image() -> None:
    """Manage images (local root filesystems; pynet has no registry)."""


@image.command("import")
@click.option("-c", "--change", multiple=True, help="Apply Dockerfile instruction to the created image")
@click.option("-m", "--message", default="", help="Set commit message for imported image")
@click.argument("source")
@click.argument("reference", required=False)
@action("pynet.cli.image_actions:import_")
def import_() -> None:
    """Import a root filesystem (a directory, a tarball or - for stdin) as an image.

    \b
    Example:
      pynet image import ./rootfs busybox:latest
      pynet image import --change 'CMD ["sh"]' rootfs.tar alpine:3.10
    """


@image.command("ls")
@click.option("-a", "--all", "show_all", is_flag=True, help="Show all images (default hides intermediate images)")
@click.option("-q", "--quiet", is_flag=True, help="Only show image IDs")
@click.option("--no-trunc", is_flag=True, help="Don't truncate output")
@click.option("--digests", is_flag=True, help="Show digests")
@click.option("-f", "--filter", "filters", multiple=True, help="Filter output based on conditions provided")
@click.option("--format", "fmt", default=None, help="Pretty-print images using a Go template")
@click.argument("reference", required=False)
@action("pynet.cli.image_actions:ls")
def ls() -> None:
    """List images."""


@image.command("rm")
@click.option("-f", "--force", is_flag=True, help="Force removal of the image")
@click.option("--no-prune", is_flag=True, help="Do not delete untagged parents")
@click.argument("images", nargs=-1, required=True)
@action("pynet.cli.image_actions:rm")
def rm() -> None:
    """Remove one or more images."""


@image.command("inspect")
@click.option("-f", "--format", "fmt", default=None, help="Format the output using the given Go template")
@click.argument("images", nargs=-1, required=True)
@action("pynet.cli.image_actions:inspect")
def inspect() -> None:
    """Display detailed information on one or more images."""
