"""The ``thrifty`` commands that move models: push, pull, ls, gc and serve (docs/STORE.md)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from thrifty.cli.options import AsJson, Jobs, Store


def push(
    file: Annotated[str, typer.Argument(help="The file to publish (any file; .thrifty best).")],
    store: Store,
    name: Annotated[
        str, typer.Argument(help="name@version; a bare name takes the file's digest as version.")
    ],
    tag: Annotated[str, typer.Option(help="The tag to point at this version.")] = "latest",
    delta_from: Annotated[
        str | None,
        typer.Option(
            metavar="REF",
            help="Make deltas from this version (name@version, or a version or tag of NAME); "
            "default: the version latest points at.",
        ),
    ] = None,
    deltas: Annotated[
        bool, typer.Option("--deltas/--no-deltas", help="Store deltas of changed tensors.")
    ] = True,
    jobs: Jobs = None,
) -> None:
    """Upload only the chunks the store lacks, and small deltas of the tensors that changed
    a little since the base version; then publish the version."""
    from thrifty.ship import push
    from thrifty.units import human_bytes

    pushed = push(
        file,
        store,
        name,
        tag=tag,
        delta_from=delta_from,
        deltas=deltas,
        jobs=jobs,
        progress=True,
    )
    m = pushed.manifest
    line = (
        f"pushed {m.name}@{m.version} ({human_bytes(m.size)}): moved "
        f"{human_bytes(pushed.moved_bytes)}, already there {human_bytes(pushed.saved_bytes)}"
    )
    if pushed.deltas:
        line += (
            f"; {pushed.deltas} deltas ({human_bytes(pushed.delta_bytes)}) spare receivers of "
            f"the base {human_bytes(pushed.delta_saved_bytes)}"
        )
    typer.echo(line)


def pull(
    store: Store,
    ref: Annotated[str, typer.Argument(help="name@version, name@tag, or name (its latest).")],
    output: Annotated[Path, typer.Option("--output", "-o", help="The file to write.")],
    jobs: Jobs = None,
    cache: Annotated[
        Path | None, typer.Option(help="Where pulls index their chunks (default $THRIFTY_CACHE).")
    ] = None,
) -> None:
    """Fetch a version: only chunks no earlier pull brought, each verified; resumable."""
    from thrifty.ship import pull
    from thrifty.units import human_bytes

    pulled = pull(store, ref, output, cache=cache, jobs=jobs, progress=True)
    m = pulled.manifest
    line = (
        f"pulled {m.name}@{m.version} into {output} ({human_bytes(m.size)}): moved "
        f"{human_bytes(pulled.moved_bytes)}, reused {human_bytes(pulled.saved_bytes)}"
    )
    if m.deltas:
        line += (
            f"; {pulled.delta_records} of {len(m.deltas)} records from deltas, saving "
            f"{human_bytes(pulled.delta_saved_bytes)}"
        )
    typer.echo(line)


def list_store(store: Store, as_json: AsJson = False) -> None:
    """List every name@version in a store, with its size and tags."""
    from thrifty.ship import list_versions
    from thrifty.units import human_bytes

    versions = list_versions(store)
    if as_json:
        rows = [
            {"name": v.manifest.name, "version": v.manifest.version, "size": v.manifest.size,
             "sha256": v.manifest.sha256, "created": v.manifest.created, "tags": list(v.tags)}
            for v in versions
        ]  # fmt: skip
        typer.echo(json.dumps(rows, indent=2))
        return
    from rich.console import Console

    from thrifty.report.text import NamedRows

    table = NamedRows(title=f"versions in {store}")
    for column in ("name@version", "size", "created", "tags"):
        table.add_column(column)
    for v in versions:
        m = v.manifest
        table.add_row(f"{m.name}@{m.version}", human_bytes(m.size), m.created, " ".join(v.tags))
    Console().print(table)


def gc(store: Store) -> None:
    """Remove the chunks no manifest names. Run it when no push is in flight."""
    from thrifty.ship import collect_garbage
    from thrifty.units import human_bytes

    collected = collect_garbage(store)
    typer.echo(f"removed {collected.chunks} chunks, {human_bytes(collected.bytes)}")


def serve(
    store: Annotated[Path, typer.Argument(help="The store folder to serve (made if missing).")],
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8470,
    token: Annotated[
        str | None,
        typer.Option(
            envvar="THRIFTY_TOKEN",
            show_envvar=True,
            help="Bearer token for uploads; none: read-only.",
        ),
    ] = None,
) -> None:
    """Serve a store over HTTP: reads for anyone, verified uploads with the token."""
    from thrifty.ship.server import serve as run

    mode = "uploads with the token" if token else "read-only"
    typer.echo(f"serving {store} on http://{host}:{port} ({mode})", err=True)
    run(store, host=host, port=port, token=token)


def register(app: typer.Typer) -> None:
    app.command(epilog="Example: thrifty push lenet.thrifty s3://bucket/models lenet@2")(push)
    app.command(epilog="Example: thrifty pull s3://bucket/models lenet@2 -o lenet.thrifty")(pull)
    app.command(name="ls", epilog="Example: thrifty ls s3://bucket/models")(list_store)
    app.command(epilog="Example: thrifty gc ./store")(gc)
    app.command(epilog="Example: THRIFTY_TOKEN=s3cret thrifty serve ./store --port 8470")(serve)
