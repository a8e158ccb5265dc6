"""What more than one command prints: a model's profile and monthly bill, as tables or (with
--json) one JSON object."""

from __future__ import annotations

import json

import typer


def show_profile(cost, bill, as_json: bool) -> None:
    from thrifty.report import print_profile, profile_document

    if as_json:
        typer.echo(json.dumps(profile_document(cost, bill), indent=2))
    else:
        print_profile(cost, bill)
