"""The `nimbus` command: run the cloud, bootstrap it, rotate token keys."""

from __future__ import annotations

import asyncio
import contextlib
import sys

import typer
from rich.console import Console

from nimbus.core.config import load_settings

app = typer.Typer(help="Nimbus: a compact cloud that speaks the OpenStack APIs.",
                  no_args_is_help=True, add_completion=False)
token_keys = typer.Typer(help="Manage the Fernet token key repository.", no_args_is_help=True)
app.add_typer(token_keys, name="token-keys")
hosts = typer.Typer(help="Manage compute hosts.", no_args_is_help=True)
app.add_typer(hosts, name="host")
console = Console(stderr=False)


@app.command()
def up() -> None:
    """Migrate, bootstrap and run the all-in-one cloud in the foreground."""
    from nimbus.cmd.up import run_all_in_one

    try:
        import uvloop

        uvloop.run(run_all_in_one(load_settings(), console))
    except KeyboardInterrupt:
        pass


@app.command()
def bootstrap() -> None:
    """Migrate and create the cloud's identity objects (idempotent); write clouds.yaml."""
    from nimbus.cmd.up import prepare

    async def run() -> None:
        database, _ = await prepare(load_settings(), console)
        await database.aclose()

    asyncio.run(run())


@app.command()
def serve(service: str = typer.Argument(..., help="api, conductor, scheduler, compute, "
                                                   "volume-scheduler, volume or network-agent"),
          host: str | None = typer.Option(None, help="the name this service registers under "
                                                     "(compute, volume: the host)")) -> None:
    """Run one service in this process (multi-node)."""
    import uvloop

    settings = load_settings()
    if host is not None:
        settings = settings.model_copy(update={"host_name": host})
    if service == "api":
        from nimbus.cmd.up import run_all_in_one

        with contextlib.suppress(KeyboardInterrupt):
            uvloop.run(run_all_in_one(settings, console, with_compute=False))
        return
    from nimbus.cmd.serve import BACKGROUND, run_background

    if service not in BACKGROUND:
        console.print(f"[red]No service {service!r}: api, {', '.join(BACKGROUND)}.[/]")
        raise typer.Exit(2)
    uvloop.run(run_background(settings, console, service, settings.host_name))


@token_keys.command("rotate")
def rotate() -> None:
    """Promote the staged key to primary and stage a new one."""
    from nimbus.core.tokens import KeyRepository

    settings = load_settings()
    repo = KeyRepository(settings.token_key_dir)
    repo.initialize()
    primary = repo.rotate()
    console.print(f"token keys rotated; primary key is now {primary}")


@hosts.command("drain")
def drain(host: str = typer.Argument(..., help="the compute host to empty"),
          timeout: float = typer.Option(300.0, help="seconds to wait for each server")) -> None:
    """Disable HOST's compute service and move every server off it (live migration for
    running servers, cold migration for stopped ones)."""
    from nimbus.cmd.drain import drain as drain_host

    left = asyncio.run(drain_host(load_settings(), console, host, timeout=timeout))
    if left:
        console.print(f"[red]{left} server(s) remain on {host}[/]")
        raise typer.Exit(1)
    console.print(f"[green]✓[/] {host} is empty")


def main() -> None:
    sys.exit(app())
