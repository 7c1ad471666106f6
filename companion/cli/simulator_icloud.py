"""``companion simulator icloud``: a simulated iCloud account for trying the iCloud source with no
Apple ID (docs/icloud.md, docs/design/icloud-protocol-notes.md)."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from companion.errors import UsageError


def icloud(
    seed: Annotated[
        int, typer.Option("--seed", metavar="N", help="Which sample camera roll to make.")
    ] = 7,
    count: Annotated[
        int, typer.Option("--count", metavar="N", min=11, help="How many files the library holds.")
    ] = 24,
    apple_id: Annotated[
        str, typer.Option("--apple-id", metavar="EMAIL", help="The simulated account's Apple ID.")
    ] = "owner@example.com",
    password: Annotated[
        str, typer.Option("--password", metavar="TEXT", help="The simulated account's password.")
    ] = "simulated-icloud-password",  # noqa: S107 (the simulated account's, not a secret)
    code: Annotated[
        str, typer.Option("--code", metavar="CODE", help="The two-factor code it accepts.")
    ] = "123456",
    no_two_factor: Annotated[
        bool, typer.Option("--no-two-factor", help="Sign in without a two-factor code.")
    ] = False,
    code_by_sms: Annotated[
        bool, typer.Option("--code-by-sms", help="Send the code by text, not to a device.")
    ] = False,
    pace_mbps: Annotated[
        float | None,
        typer.Option("--pace-mbps", metavar="MB/S", min=0.01, help="Per-download speed cap."),
    ] = None,
    throttle: Annotated[
        list[str] | None,
        typer.Option(
            "--throttle",
            metavar="KIND:N",
            help="Answer the next N requests of KIND with 503 (auth, setup, query, count, "
            "modify, download). Repeatable.",
        ),
    ] = None,
    cut_downloads: Annotated[
        int,
        typer.Option("--cut-downloads", metavar="N", min=0, help="Cut the next N downloads."),
    ] = 0,
    size_mismatch: Annotated[
        list[str] | None,
        typer.Option(
            "--size-mismatch",
            metavar="PATH",
            help="Serve 3/4 of this file's bytes (e.g. DCIM/100APPLE/IMG_0001.JPG). Repeatable.",
        ),
    ] = None,
    web_access_off: Annotated[
        bool,
        typer.Option(
            "--web-access-off",
            help="Advanced Data Protection with 'Access iCloud Data on the Web' off.",
        ),
    ] = False,
    indexing: Annotated[
        bool, typer.Option("--indexing", help="The library is still being indexed.")
    ] = False,
) -> None:
    """Serve a simulated iCloud account over HTTPS on 127.0.0.1 until Ctrl-C.

    Prints, as one JSON object on standard output, what a client needs: the Apple ID, password
    and two-factor code of the simulated account, its endpoints and the certificate authority
    to trust (its folder is removed when the server stops). Nothing here is a real secret.
    """
    from companion.simulator.icloud import Faults, SimulatedICloud
    from companion.simulator.media import generate_camera_roll

    faults = Faults(
        throttle=dict(_throttle(spec) for spec in throttle or ()),
        cut_downloads=cut_downloads,
        size_mismatch=frozenset(size_mismatch or ()),
        web_access_off=web_access_off,
        indexing=indexing,
    )
    try:
        server = SimulatedICloud(
            generate_camera_roll(seed, count),
            apple_id=apple_id,
            password=password,
            two_factor=not no_two_factor,
            code=code,
            code_by_sms=code_by_sms,
            faults=faults,
            pace_bytes_per_s=pace_mbps * 1e6 if pace_mbps else None,
        )
    except ValueError as exc:
        raise UsageError(
            str(exc), hint="Name files as the sample roll does: DCIM/100APPLE/IMG_0001.JPG."
        ) from exc

    def announce() -> None:  # once Ctrl-C and SIGTERM stop the server cleanly
        typer.echo(json.dumps(server.connection_info(), indent=2))
        typer.echo(
            f"Serving {len(server.assets)} items for {apple_id} at {server.base_url}. "
            "Ctrl-C stops it.",
            err=True,
        )

    server.serve_forever(ready=announce)


def _throttle(spec: str) -> tuple[str, int]:
    from companion.simulator.icloud.faults import KINDS

    kind, _, n = spec.partition(":")
    if kind not in KINDS or not n.isdigit():
        raise UsageError(
            f"--throttle {spec}: expected KIND:N", hint=f"KIND is one of {', '.join(KINDS)}."
        )
    return kind, int(n)
