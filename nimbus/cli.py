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


def main() -> None:
    sys.exit(app())
