"""What callers tell connectors (``ConnectOptions``), and what the registry tells help texts.

A connector reads its own settings by type, with its defaults when none were given; a question
for the person goes through ``prompt``, and without one it is a usage error with a hint, never a
wait. The USB package is imported without its library, and ``--from`` help texts come from the
registry, so a new scheme shows up in every command that can use it.
"""

from __future__ import annotations

import io
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import typer

from companion.cli import terminal
from companion.cli.app import run
from companion.cli.sources import connect_options
from companion.connectors import ConnectOptions, connect, lists_apps, schemes, source_help
from companion.connectors.usb import UsbOptions
from companion.errors import UsageError
from tests.support import make_roll


@dataclass(frozen=True, slots=True)
class OtherSettings:
    """Another connector's settings: never mistaken for the USB connector's."""

    account: str = "nobody"


class Answers:
    """A person at a terminal: answers in turn, and remembers what was asked."""

    def __init__(self, *answers: str) -> None:
        self.answers = list(answers)
        self.asked: list[tuple[str, bool]] = []

    def __call__(self, question: str, *, secret: bool = False) -> str:
        self.asked.append((question, secret))
        return self.answers.pop(0)


def test_settings_are_fetched_by_type_with_defaults() -> None:
    usb = UsbOptions(usbmux_address="usbmuxd-test.sock", trust_timeout=3)
    other = OtherSettings("someone")
    options = ConnectOptions(per_connector=(other, usb))
    assert options.settings(UsbOptions) is usb
    assert options.settings(OtherSettings) is other
    assert ConnectOptions().settings(UsbOptions) == UsbOptions()
    assert ConnectOptions(per_connector=(other,)).settings(UsbOptions) == UsbOptions()
    assert UsbOptions().trust_timeout == 120.0 and UsbOptions().pair_records is None


def test_two_settings_of_one_type_are_refused() -> None:
    with pytest.raises(ValueError, match="one settings value per connector type"):
        ConnectOptions(per_connector=(UsbOptions(), UsbOptions(trust_timeout=1)))


def test_a_question_goes_to_the_prompt_and_without_one_is_a_usage_error() -> None:
    person = Answers("123456")
    options = ConnectOptions(prompt=person)
    assert options.ask("Two-factor code", secret=True, hint="unused") == "123456"
    assert person.asked == [("Two-factor code", True)]
    with pytest.raises(UsageError, match="Two-factor code") as caught:
        ConnectOptions().ask("Two-factor code", hint="Run it from a terminal.")
    assert caught.value.hint == "Run it from a terminal."


def test_the_usb_connector_keeps_the_options_it_was_given() -> None:
    usb = UsbOptions(usbmux_address="usbmuxd-test.sock", trust_timeout=7)
    options = ConnectOptions(
        notify=print, prompt=Answers(), include_trashed=True, per_connector=(usb,)
    )
    connector = connect("usb", options)  # nothing is asked of usbmuxd before the first use
    try:
        assert connector._options is options  # type: ignore[attr-defined]
        assert connector._usb is usb  # type: ignore[attr-defined]
    finally:
        connector.close()  # type: ignore[attr-defined]


def test_the_usb_connector_reads_its_own_settings() -> None:
    bad = ConnectOptions(per_connector=(UsbOptions(usbmux_address="[::1]:27015"),))
    with pytest.raises(UsageError, match="usbmuxd address"):
        connect("usb", bad)


def test_the_folder_connector_takes_any_options(tmp_path: Path) -> None:
    roll = make_roll(tmp_path / "roll")
    options = ConnectOptions(prompt=Answers(), per_connector=(OtherSettings(),))
    assert list(connect(f"folder:{roll}", options).list_assets())


def test_the_usb_package_loads_no_usb_library() -> None:
    probe = (
        "import sys\n"
        "import companion.connectors, companion.connectors.usb\n"
        "from companion.connectors.usb.options import UsbOptions\n"
        "companion.connectors.source_help()\n"
        "print('pymobiledevice3' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False", out.stdout + out.stderr


def test_the_registry_help_names_every_scheme_and_apps_only_where_listed() -> None:
    text = source_help()
    for scheme in schemes():
        assert re.search(rf"(^|\s){scheme}(:|\s)", text), (scheme, text)
    assert text.startswith("usb ")  # the default source first
    apps = source_help(apps=True)
    assert "usb:UDID" in apps and "folder:" not in apps
    assert lists_apps("usb") and lists_apps("usb:00008030-001") and not lists_apps("usb2")
    assert not lists_apps("folder:/media/DCIM") and not lists_apps("nowhere:x")


@pytest.mark.parametrize(
    ("command", "apps"), [(["backup"], False), (["scan"], False), (["checklist"], True)]
)
def test_from_help_comes_from_the_registry(
    command: list[str], apps: bool, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run([*command, "--help"]) == 0
    shown = " ".join(capsys.readouterr().out.split())
    assert " ".join(source_help(apps=apps).split()) in shown


def test_commands_give_connectors_the_terminal_and_the_usb_settings(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    options = connect_options("127.0.0.1:27015", 9, include_trashed=True, notify=False)
    assert options.prompt is None  # no terminal in tests: nobody is asked
    assert options.notify is None and options.include_trashed
    assert options.settings(UsbOptions) == UsbOptions("127.0.0.1:27015", 9)
    monkeypatch.setattr(terminal, "has_terminal", lambda: True)
    assert connect_options(None).prompt is terminal.ask
    assert connect_options(None).notify is not None


def test_a_visible_question_is_asked_again_while_empty_and_cancelled_at_the_end(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    nowhere = tmp_path / "missing" / "terminal"  # no terminal: asked on stderr and stdin
    for name in ("_TTY", "_CONSOLE", "_CONSOLE_OUT"):
        monkeypatch.setattr(terminal, name, nowhere)
    monkeypatch.setattr(sys, "stdin", io.StringIO("\n  123456 \n"))
    assert terminal.ask("Two-factor code") == "123456"
    out, err = capsys.readouterr()
    assert out == "" and err.count("Two-factor code: ") == 2
    with pytest.raises(typer.Abort):
        terminal.ask_visible("Two-factor code")
