"""The person's hand in the simulated phone's Photos app: deleting photos, and their purge.

Deleting a photo in Photos does not remove it: its row in ``Photos.sqlite`` goes to Recently
Deleted (``ZTRASHEDSTATE`` 1, ``ZTRASHEDDATE`` the time, in Core Data seconds since 2001, and
``Z_OPT`` counts the change) and its files stay. Thirty days later, or when the person empties
Recently Deleted, the row and every file of it go: the original, a Live Photo's movie, the
``.AAE`` beside it and the edit under ``PhotoData/Mutations``. ``delete_in_photos`` and ``purge``
do each to the phone under a media root, in place: give them a private copy of a phone (a
cached phone is shared by every run).

The change is written the way the phone writes it: a transaction appended to the WAL, which is
left beside the database, not checkpointed (a reader that ignores ``-wal`` misses it). SQLite
deletes the WAL when its last connection closes, so the work happens on copies, and the new
``-wal`` and ``-shm`` replace the phone's (each by a rename: a reader never sees half a file)
while the connection is still open. The main file is not written.
"""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import shutil
import sqlite3
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from companion.simulator.photosdb import Statement, core_data_time

LIBRARY = "PhotoData/Photos.sqlite"
MUTATIONS = "PhotoData/Mutations"
_JOIN = re.compile(r"Z_\d+ASSETS")  # a join table, and its asset column


@dataclass(frozen=True, slots=True)
class _Row:
    pk: int
    directory: str
    filename: str

    @property
    def stem(self) -> str:
        return self.filename.rpartition(".")[0] or self.filename


def delete_in_photos(media_root: Path, paths: Sequence[str], *, when: datetime) -> None:
    """The person deletes the photos whose files are ``paths`` (media-root paths, as
    ``DCIM/100APPLE/IMG_0007.HEIC``) at ``when``: they go to Recently Deleted, files kept.

    Raises ``ValueError`` for a path that is no photo's file (before changing anything).
    """
    with _library(media_root) as connection:
        rows = [_row(connection, path) for path in paths]
        update = (
            "UPDATE ZASSET SET ZTRASHEDSTATE = 1, ZTRASHEDDATE = ?1, ZMODIFICATIONDATE = ?1,"
            " Z_OPT = Z_OPT + 1 WHERE Z_PK = ?2"
        )
        _transaction(connection, [(update, (core_data_time(when), row.pk)) for row in rows])


def purge(media_root: Path, paths: Sequence[str]) -> None:
    """The photos whose files are ``paths`` leave the phone for good (Recently Deleted was
    emptied, or 30 days went by): their rows and all their files go. Raises ``ValueError`` for
    a path that is no photo's file (before changing anything)."""
    with _library(media_root) as connection:
        rows = [_row(connection, path) for path in paths]
        joins = _album_joins(connection)
        statements: list[Statement] = []
        for row in rows:
            statements += [(sql, (row.pk,)) for sql in _PURGE if _has_table(connection, sql)]
            for table, column in joins:
                # Names come from the phone's own schema, each matched by ``_JOIN``.
                sql = f"DELETE FROM {table} WHERE {column} = ?"  # noqa: S608
                statements.append((sql, (row.pk,)))
        _transaction(connection, statements)
    for row in rows:
        _remove_files(media_root, row)


_PURGE = (
    "DELETE FROM ZINTERNALRESOURCE WHERE ZASSET = ?",
    "DELETE FROM ZCLOUDRESOURCE WHERE ZASSET = ?",
    "DELETE FROM ZUNMANAGEDADJUSTMENT WHERE ZASSETATTRIBUTES = ?",
    "DELETE FROM ZEXTENDEDATTRIBUTES WHERE ZASSET = ?",
    "DELETE FROM ZCLOUDMASTER WHERE Z_PK = (SELECT ZMASTER FROM ZASSET WHERE Z_PK = ?)",
    "DELETE FROM ZADDITIONALASSETATTRIBUTES WHERE ZASSET = ?",
    "DELETE FROM ZASSET WHERE Z_PK = ?",
)
"""What goes with an asset, in order (a table an older store lacks is passed over)."""


def _has_table(connection: sqlite3.Connection, sql: str) -> bool:
    table = sql.split()[2]
    found = connection.execute(
        "SELECT 1 FROM sqlite_master WHERE type='table' AND name=?", (table,)
    )
    return found.fetchone() is not None


def _remove_files(media_root: Path, row: _Row) -> None:
    """The original and every file beside it with its stem (a Live Photo's movie, an
    ``.AAE``), and its edit under ``PhotoData/Mutations``."""
    folder = media_root.joinpath(*row.directory.split("/"))
    for entry in list(folder.iterdir()) if folder.is_dir() else []:
        if entry.is_file() and entry.name.rpartition(".")[0] == row.stem:
            entry.unlink()
    edit = media_root.joinpath(*MUTATIONS.split("/"), *row.directory.split("/"), row.stem)
    if edit.is_dir():
        shutil.rmtree(edit)


def _album_joins(connection: sqlite3.Connection) -> list[tuple[str, str]]:
    """Each album-to-asset join table (``Z_<n>ASSETS``, ``<n>`` moves between iOS versions)
    with its asset column (``Z_3ASSETS``)."""
    tables = connection.execute("SELECT name FROM sqlite_master WHERE type='table'")
    found = []
    for (table,) in tables.fetchall():
        if _JOIN.fullmatch(table):
            columns = [c[1] for c in connection.execute(f"PRAGMA table_info({table})")]
            found += [(table, c) for c in columns if _JOIN.fullmatch(c)]
    return found


def _row(connection: sqlite3.Connection, path: str) -> _Row:
    directory, _, filename = path.strip("/").rpartition("/")
    found = connection.execute(
        "SELECT Z_PK FROM ZASSET WHERE ZDIRECTORY = ? AND ZFILENAME = ?", (directory, filename)
    ).fetchone()
    if found is None:
        raise ValueError(f"no photo of the library has the file {path}")
    return _Row(int(found[0]), directory, filename)


def _transaction(connection: sqlite3.Connection, statements: Sequence[Statement]) -> None:
    connection.execute("BEGIN")
    for sql, values in statements:
        connection.execute(sql, values)
    connection.execute("COMMIT")


@contextlib.contextmanager
def _library(media_root: Path) -> Iterator[sqlite3.Connection]:
    """A connection to a working copy of the phone's library; on a clean exit its WAL and
    index replace the phone's, before the connection closes (which would checkpoint them)."""
    database = media_root.joinpath(*LIBRARY.split("/"))
    if not database.is_file():
        raise ValueError(f"the phone under {media_root} has no {LIBRARY}")
    with tempfile.TemporaryDirectory(prefix="photos-app-") as scratch:
        work = Path(scratch) / "Photos.sqlite"
        shutil.copyfile(database, work)
        wal = Path(f"{database}-wal")
        if wal.exists():
            shutil.copyfile(wal, f"{work}-wal")
        # No -shm copied: SQLite rebuilds the index from the WAL, so it appends to the WAL
        # instead of starting a new one.
        connection = sqlite3.connect(work, isolation_level=None)
        try:
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA wal_autocheckpoint=0")
            yield connection
            for suffix in ("-wal", "-shm"):
                _replace(Path(f"{work}{suffix}"), Path(f"{database}{suffix}"))
        finally:
            connection.close()


def _replace(source: Path, target: Path) -> None:
    """Put a copy of ``source`` at ``target`` by a rename: a reader sees the old or the new."""
    partial = target.with_name(f".{target.name}.partial")
    shutil.copyfile(source, partial)
    partial.replace(target)


COMMANDS = {
    "delete": "delete PATH...  the person deletes these photos in Photos (Recently Deleted)",
    "purge": "purge PATH...   they leave the phone for good (row and files gone)",
}


def perform(media_root: Path, line: str, *, now: datetime) -> str:
    """Do what one typed line says (``delete PATH...`` or ``purge PATH...``, paths relative to
    the media root, quoted as in a shell) and say what was done. Raises ``ValueError`` for an
    unknown command or path, having changed nothing."""
    words = shlex.split(line)
    if not words or words[0] not in COMMANDS or len(words) < 2:
        known = "; ".join(COMMANDS.values())
        raise ValueError(f"not a command: {line.strip()!r} (commands: {known})")
    verb, paths = words[0], words[1:]
    if verb == "delete":
        delete_in_photos(media_root, paths, when=now)
        return f"deleted in Photos, now in Recently Deleted: {', '.join(paths)}"
    purge(media_root, paths)
    return f"gone from the phone: {', '.join(paths)}"


def private_copy(media_root: Path, where: Path) -> Path:
    """A copy of a phone's media root under ``where``, to change freely. Files are hard links
    where the disk allows (no byte copied): ``delete_in_photos`` and ``purge`` replace or
    remove files, never write into them, so the original stays as it was."""
    target = where / "Media"
    shutil.copytree(media_root, target, copy_function=_link_or_copy)
    return target


def _link_or_copy(source: str, target: str) -> None:
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)
