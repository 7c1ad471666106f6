"""``companion simulator serve`` and ``icloud``: a simulated iPhone, and a simulated iCloud
account (``simulator_icloud``), for trying companion with no phone and no Apple ID."""

from __future__ import annotations

import dataclasses
import sys
import tempfile
import threading
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from companion.cli.common import EXIT_STATUS
from companion.errors import UsageError
from companion.simulator.misbehave import NAMED_FAULTS

if TYPE_CHECKING:
    from companion.simulator import Simulator
    from companion.simulator.phone import SamplePhone

app = typer.Typer(
    help="A simulated iPhone that speaks usbmuxd, lockdown and AFC like a real one (serve), "
    "and a simulated iCloud account that answers over HTTPS like iCloud (icloud).",
    no_args_is_help=True,
    rich_markup_mode=None,
)


class Size(StrEnum):
    SMALL = "small"
    MEDIUM = "medium"
    LARGE = "large"


class Trust(StrEnum):
    ACCEPT = "accept"
    PENDING = "pending"
    DENY = "deny"


_FAULT_LIST = "\b\nFaults (--fault NAME[:PATH]):\n" + "\n".join(
    f"  {name:<15} {fault.description}" for name, fault in NAMED_FAULTS.items()
)


@app.command("serve", epilog=f"{_FAULT_LIST}\n\n{EXIT_STATUS}")
def serve(
    listen: Annotated[
        str | None,
        typer.Option(
            "--listen",
            metavar="ADDR",
            help="A unix socket path, or HOST:PORT (port 0 picks a free one). "
            "Default: a socket in a private temporary folder.",
        ),
    ] = None,
    seed: Annotated[
        int, typer.Option("--seed", metavar="N", help="Which sample phone to make.")
    ] = 7,
    size: Annotated[
        Size,
        typer.Option(
            "--size",
            help="small: a few dozen items; medium: a few hundred; large: about 1 GB "
            "with videos over 100 MB (built once, then cached).",
        ),
    ] = Size.SMALL,
    count: Annotated[
        int | None,
        typer.Option(
            "--count",
            metavar="N",
            min=24,
            help="Exactly this many items (tiny ones), e.g. 10000.",
        ),
    ] = None,
    phone_dir: Annotated[
        Path | None,
        typer.Option(
            "--phone-dir",
            metavar="DIR",
            help="Build the phone's files here. Default: the user cache folder.",
        ),
    ] = None,
    locked: Annotated[
        bool, typer.Option("--locked", help="Start passcode-locked (answers PasswordProtected).")
    ] = False,
    trust: Annotated[
        Trust,
        typer.Option(
            "--trust",
            help="What the Trust dialog does for a new computer: accept, pending (until "
            "you press Enter here), deny.",
        ),
    ] = Trust.ACCEPT,
    cloud_only: Annotated[
        int,
        typer.Option("--cloud-only", metavar="N", min=0, help="Photos kept only in iCloud."),
    ] = 0,
    link_rate: Annotated[
        float | None,
        typer.Option(
            "--link-mbps",
            metavar="MBPS",
            min=1,
            help="Pace file reads to this many MB/s (a real USB 2 iPhone gives about 32).",
        ),
    ] = None,
    fault: Annotated[
        list[str] | None,
        typer.Option(
            "--fault",
            metavar="NAME[:PATH]",
            help="Misbehave on purpose, as listed below, on PATH (relative to the media "
            "folder, e.g. DCIM/100APPLE/IMG_0004.JPG) or on a file it picks. Repeatable.",
        ),
    ] = None,
) -> None:
    """Run a simulated iPhone in the foreground until Ctrl-C.

    It prints the address to give companion (or any usbmuxd client, such as pymobiledevice3 or
    libimobiledevice's tools): USBMUXD_SOCKET_ADDRESS=ADDR companion devices

    While it serves, lines typed on its standard input play the phone's owner: "delete PATH..."
    deletes photos in the Photos app (they go to Recently Deleted), "purge PATH..." makes them
    leave the phone for good, an empty line taps Trust. PATH is relative to the media folder,
    e.g. DCIM/100APPLE/IMG_0004.JPG. They change the phone in --phone-dir, or else a private
    copy of the cached phone, dropped when the simulator stops.
    """
    from companion.simulator.phone import build_phone, cached_phone
    from companion.simulator.photos_app import private_copy

    wanted = [_fault_spec(spec) for spec in fault or []]
    typer.echo(f"Making the sample phone (seed {seed}, {count or size})...", err=True)
    if phone_dir is not None:
        phone = build_phone(
            phone_dir, seed=seed, size=size.value, count=count, cloud_only=cloud_only
        )
        _serve(phone, listen, wanted, locked=locked, trust=trust, link_rate=link_rate)
        return
    cached = cached_phone(seed=seed, size=size.value, count=count, cloud_only=cloud_only)
    # Other runs share the cached phone: what the owner types changes a copy (hard links).
    base = cached.media_root.parent.parent
    with tempfile.TemporaryDirectory(prefix=".serving-", dir=base) as scratch:
        phone = dataclasses.replace(
            cached, media_root=private_copy(cached.media_root, Path(scratch))
        )
        _serve(phone, listen, wanted, locked=locked, trust=trust, link_rate=link_rate)


def _serve(
    phone: SamplePhone,
    listen: str | None,
    wanted: list[tuple[str, str | None]],
    *,
    locked: bool,
    trust: Trust,
    link_rate: float | None,
) -> None:
    from companion.simulator import Faults, Simulator
    from companion.simulator.misbehave import apply_fault

    faults = Faults(
        locked=locked,
        trust=trust.value,
        cloud_only_paths=frozenset(phone.cloud_only),
        link_rate=link_rate * 1e6 if link_rate else None,
    )
    applied: list[tuple[str, str]] = []
    for name, path in wanted:
        try:
            applied.append((name, apply_fault(faults, name, phone.media_root, path)))
        except ValueError as exc:
            raise UsageError(
                f"--fault {name}{'' if path is None else ':' + path}: {exc}",
                hint="Give PATH relative to the phone's media folder, e.g. "
                "DCIM/100APPLE/IMG_0004.JPG, or leave it out to let the simulator pick a file.",
            ) from exc
    simulator = Simulator(phone, listen=listen, faults=faults)
    try:
        simulator.start()
    except (OSError, ValueError) as exc:
        raise UsageError(
            f"cannot listen on {listen}: {exc}",
            hint="Give --listen a socket path in an existing folder, or HOST:PORT.",
        ) from exc

    def announce() -> None:  # once Ctrl-C and SIGTERM stop the server cleanly
        typer.echo(f"USBMUXD_SOCKET_ADDRESS={simulator.address}")
        typer.echo(
            f"Serving {phone.device.get('DeviceName')} (UDID {simulator.udid}), "
            f"{phone.assets} photos and videos. Ctrl-C stops it.",
            err=True,
        )
        for name, path in applied:
            typer.echo(f"fault {name} on {path}", err=True)
        if trust is Trust.PENDING:
            typer.echo("Press Enter here to tap Trust on the simulated iPhone.", err=True)

    with simulator:
        owner = threading.Thread(target=_owner, args=(simulator, phone.media_root), daemon=True)
        owner.start()
        simulator.serve_forever(ready=announce)


def _fault_spec(spec: str) -> tuple[str, str | None]:
    """NAME[:PATH] split, with the name checked before the phone is made."""
    name, colon, path = spec.partition(":")
    if name not in NAMED_FAULTS:
        raise UsageError(
            f"unknown fault {name!r} in --fault {spec}",
            hint=f"Known faults: {', '.join(NAMED_FAULTS)} (see --help).",
        )
    if colon and not path:
        raise UsageError(f"--fault {spec} has an empty PATH", hint="Write NAME or NAME:PATH.")
    return name, path if colon else None


def _owner(simulator: Simulator, media_root: Path) -> None:
    """The phone's owner, typing on standard input: Enter taps Trust, and the commands of
    ``photos_app.perform`` delete photos in Photos or purge them."""
    from companion.simulator.photos_app import perform

    for line in sys.stdin:
        if not line.strip():
            simulator.tap_trust()
            continue
        try:
            typer.echo(perform(media_root, line, now=datetime.now(UTC)), err=True)
        except ValueError as exc:
            typer.echo(f"error: {exc}", err=True)


# The simulated iCloud lives beside the simulated iPhone: ``companion simulator icloud``.
from companion.cli.simulator_icloud import icloud  # noqa: E402 (after the iPhone's commands)

app.command("icloud", epilog=EXIT_STATUS)(icloud)
