"""The queries ``photosdb.py`` runs on a copied ``Photos.sqlite``, built from the schema it has.

Apple's Core Data model moves between iOS versions, so nothing is assumed: each fact is read
from the column iOS keeps it in when that column exists, and left unknown otherwise
(the per-version forms and their sources: ``docs/design/photos-sqlite.md``).

- Edited: ``ZASSET.ZHASADJUSTMENTS`` up to iOS 17, ``ZADJUSTMENTSSTATE`` (> 0) from iOS 18,
  and the edit's time from its ``ZUNMANAGEDADJUSTMENT`` row (reached through the asset's
  ``ZADDITIONALASSETATTRIBUTES.ZUNMANAGEDADJUSTMENT``).
- The name iCloud Photos knows a picture by: ``ZCLOUDMASTER.ZORIGINALFILENAME`` (through
  ``ZASSET.ZMASTER``); its iCloud identity: ``ZASSET.ZCLOUDASSETGUID``.
- Albums: the join table ``Z_<n>ASSETS`` is found by its name, ``<n>`` being the Album entity.
- Cloud-only: the original's ``ZINTERNALRESOURCE`` row (``ZDATASTORESUBTYPE`` 1 where the
  column exists) is not available locally (``ZLOCALAVAILABILITY`` below 1): the phone keeps
  only derivatives (thumbnails, ``ZDATASTORESUBTYPE`` 3-5) of a photo "Optimize iPhone
  Storage" sent to iCloud.
"""

from __future__ import annotations

import re
import sqlite3

ALBUM_USER = 2  # ZGENERICALBUM.ZKIND of an album the person made
AVAILABLE_LOCALLY = 1  # ZINTERNALRESOURCE.ZLOCALAVAILABILITY
ORIGINAL_SUBTYPE = 1  # ZINTERNALRESOURCE.ZDATASTORESUBTYPE of an original, full size
_JOIN_TABLE = re.compile(r"Z_(\d+)ASSETS")
_HAS_FILE = "a.ZDIRECTORY IS NOT NULL AND a.ZFILENAME IS NOT NULL"

# Each fact of the asset table: (name, column, SQL expression when present, default).
_ASSET_FIELDS = (
    ("kind", "ZKIND", "a.ZKIND", "0"),
    ("subtype", "ZKINDSUBTYPE", "a.ZKINDSUBTYPE", "0"),
    ("favourite", "ZFAVORITE", "a.ZFAVORITE", "0"),
    ("hidden", "ZHIDDEN", "a.ZHIDDEN", "0"),
    ("trashed", "ZTRASHEDSTATE", "a.ZTRASHEDSTATE", "0"),
    ("created", "ZDATECREATED", "a.ZDATECREATED", "NULL"),
    ("uid", "ZUUID", "a.ZUUID", "NULL"),
    ("trashed_date", "ZTRASHEDDATE", "a.ZTRASHEDDATE", "NULL"),
    ("cloud_guid", "ZCLOUDASSETGUID", "a.ZCLOUDASSETGUID", "NULL"),
)
_ATTRIBUTE_FIELDS = (
    ("offset", "ZTIMEZONEOFFSET"),
    ("original_name", "ZORIGINALFILENAME"),
    ("original_size", "ZORIGINALFILESIZE"),
)


def columns(conn: sqlite3.Connection, table: str) -> set[str]:
    return {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}


def tables(conn: sqlite3.Connection) -> set[str]:
    return {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}


def record_query(
    conn: sqlite3.Connection, known: set[str], asset_table: str
) -> tuple[str, list[str]]:
    """The SELECT of every asset row with a file, and the names of its result columns (after
    ``pk``, ``directory``, ``filename``)."""
    cols = columns(conn, asset_table)
    names = [name for name, *_ in _ASSET_FIELDS]
    picks = [expr if col in cols else default for _, col, expr, default in _ASSET_FIELDS]
    names.append("adjusted")
    if "ZHASADJUSTMENTS" in cols:
        picks.append("a.ZHASADJUSTMENTS")
    elif "ZADJUSTMENTSSTATE" in cols:  # iOS 18
        picks.append("COALESCE(a.ZADJUSTMENTSSTATE, 0) > 0")
    else:
        picks.append("0")
    joins = []
    attributes = "ZADDITIONALASSETATTRIBUTES"
    attribute_cols = columns(conn, attributes) if attributes in known else set()
    if "ZADDITIONALATTRIBUTES" not in cols:
        attribute_cols = set()
    if attribute_cols:
        joins.append(f"LEFT JOIN {attributes} x ON x.Z_PK = a.ZADDITIONALATTRIBUTES")
    for name, col in _ATTRIBUTE_FIELDS:
        names.append(name)
        picks.append(f"x.{col}" if col in attribute_cols else "NULL")
    names.append("edited")
    if "ZUNMANAGEDADJUSTMENT" in attribute_cols and "ZUNMANAGEDADJUSTMENT" in known:
        joins.append("LEFT JOIN ZUNMANAGEDADJUSTMENT u ON u.Z_PK = x.ZUNMANAGEDADJUSTMENT")
        picks.append("u.ZADJUSTMENTTIMESTAMP")
    else:
        picks.append("NULL")
    names.append("cloud_name")
    if "ZMASTER" in cols and "ZORIGINALFILENAME" in _maybe(conn, known, "ZCLOUDMASTER"):
        joins.append("LEFT JOIN ZCLOUDMASTER m ON m.Z_PK = a.ZMASTER")
        picks.append("m.ZORIGINALFILENAME")
    else:
        picks.append("NULL")
    wanted = ", ".join(["a.Z_PK", "a.ZDIRECTORY", "a.ZFILENAME", *picks])
    source = " ".join([f"{asset_table} a", *joins])
    # Every name comes from the store's own schema or from this module.
    query = f"SELECT {wanted} FROM {source} WHERE {_HAS_FILE}"  # noqa: S608
    return query, names


def _maybe(conn: sqlite3.Connection, known: set[str], table: str) -> set[str]:
    return columns(conn, table) if table in known else set()


def albums(conn: sqlite3.Connection, known: set[str]) -> dict[int, list[str]]:
    """Asset primary key -> titles of the albums the person made that hold it."""
    if "ZGENERICALBUM" not in known:
        return {}
    for table in sorted(known):
        match = _JOIN_TABLE.fullmatch(table)
        if not match:
            continue
        cols = columns(conn, table)
        album_col = f"Z_{match.group(1)}ALBUMS"
        asset_cols = [c for c in cols if re.fullmatch(r"Z_\d+ASSETS", c)]
        if album_col not in cols or len(asset_cols) != 1:
            continue
        album_cols = columns(conn, "ZGENERICALBUM")
        trashed = "AND COALESCE(g.ZTRASHEDSTATE, 0) = 0" if "ZTRASHEDSTATE" in album_cols else ""
        found: dict[int, list[str]] = {}
        joined = f"{table} j JOIN ZGENERICALBUM g ON g.Z_PK = j.{album_col}"
        where = f"g.ZKIND = {ALBUM_USER} AND g.ZTITLE IS NOT NULL {trashed}"
        query = f"SELECT j.{asset_cols[0]}, g.ZTITLE FROM {joined} WHERE {where}"  # noqa: S608
        for asset_pk, title in conn.execute(query):
            found.setdefault(int(asset_pk), []).append(str(title))
        return found
    return {}


def cloud_only(conn: sqlite3.Connection, known: set[str]) -> set[int]:
    """Assets none of whose original resources is on the phone."""
    if "ZINTERNALRESOURCE" not in known:
        return set()
    cols = columns(conn, "ZINTERNALRESOURCE")
    if not {"ZASSET", "ZLOCALAVAILABILITY"} <= cols:
        return set()
    if "ZDATASTORESUBTYPE" in cols:  # iOS 14 and later: the original is subtype 1
        original = f"AND ZDATASTORESUBTYPE = {ORIGINAL_SUBTYPE}"
    else:  # older stores: version 0 of the photo, video, Live Photo or screenshot, no recipe
        original = " ".join(
            clause
            for col, clause in (
                ("ZVERSION", "AND ZVERSION = 0"),
                ("ZRESOURCETYPE", "AND ZRESOURCETYPE IN (0, 1, 3, 6)"),
                ("ZRECIPEID", "AND COALESCE(ZRECIPEID, 0) = 0"),
            )
            if col in cols
        )
    having = f"MAX(COALESCE(ZLOCALAVAILABILITY, 0)) < {AVAILABLE_LOCALLY}"
    query = (
        f"SELECT ZASSET FROM ZINTERNALRESOURCE WHERE ZASSET IS NOT NULL {original}"  # noqa: S608
        f" GROUP BY ZASSET HAVING {having}"
    )
    return {int(row[0]) for row in conn.execute(query)}
