"""The simulated ``Photos.sqlite``'s schema for each iOS version, as public forensic research
describes it (sources, and what is still a guess: ``docs/design/photos-sqlite.md``).

Core Data numbers its entities, and the numbers name the many-to-many join tables: albums hold
assets through ``Z_<Album>ASSETS`` and album lists hold albums through
``Z_<GenericAlbum>ALBUMLISTS``. New entities in a release shift the numbers, so the Album entity
is 28 on iOS 16 and 17.0-17.5, 29 from iOS 17.6 and 30 on iOS 18. iOS 18 also replaced
``ZASSET.ZHASADJUSTMENTS`` with ``ZADJUSTMENTSSTATE`` and the fingerprints with stable hashes.

Only the tables a backup cares about are here, each with the columns the published queries read;
a real library has many more (faces, memories, search, analysis).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final


@dataclass(frozen=True, slots=True)
class Model:
    """One release's Core Data model: its album entity numbers and metadata."""

    variant: str  # "16", "17.0", "17.6", "18"
    album: int  # the Album entity: Z_<album>ASSETS
    model_version: int  # PLModelVersion in Z_METADATA (a guess, see the design notes)
    framework: int  # NSPersistenceFrameworkVersion

    @property
    def generic_album(self) -> int:
        return self.album - 1

    @property
    def assets_join(self) -> str:
        return f"Z_{self.album}ASSETS"

    @property
    def album_lists_join(self) -> str:
        return f"Z_{self.generic_album}ALBUMLISTS"

    @property
    def hashes(self) -> bool:
        """iOS 18 keeps stable hashes where earlier releases kept fingerprints."""
        return self.variant == "18"


MODELS: Final[Mapping[str, Model]] = MappingProxyType(
    {
        "16": Model("16", 28, 16320, 1244),
        "17.0": Model("17.0", 28, 17120, 1338),
        "17.6": Model("17.6", 29, 17600, 1338),
        "18": Model("18", 30, 18200, 1414),
    }
)

ADDITIONAL_ATTRIBUTES, ALBUM_LIST, ASSET = 1, 2, 3
"""Entity numbers the join tables' column names show (``Z_1KEYWORDS``, ``Z_2ALBUMLISTS``,
``Z_3ASSETS``), the same in every release since iOS 14."""


def variant(version: str) -> str:
    """The schema variant of an iOS version: ``"17.5.1"`` -> ``"17.0"``, ``"17.6.1"`` -> ``"17.6"``.

    Raises ``ValueError`` for a version the simulator does not offer.
    """
    parts = [int(p) if p.isdigit() else -1 for p in version.split(".")]
    major, minor = parts[0], (parts[1] if len(parts) > 1 else 0)
    if major == 17:
        return "17.6" if minor >= 6 else "17.0"
    if major in (16, 18):
        return str(major)
    raise ValueError(f"the simulated phone runs iOS 16, 17 or 18, not {version!r}")


def entities(model: Model) -> dict[str, int]:
    """Entity name -> number. Asset, AdditionalAssetAttributes, AlbumList, GenericAlbum and Album
    are published; the others keep Core Data's order (sub-entities after their parent) but
    their exact numbers are guesses."""
    g = model.generic_album
    shift = g - 27  # entities added before GenericAlbum in later releases
    return {
        "AdditionalAssetAttributes": ADDITIONAL_ATTRIBUTES,
        "AlbumList": ALBUM_LIST,
        "Asset": ASSET,
        "CloudMaster": 10 + shift,
        "CloudResource": 12 + shift,
        "CloudSharedAlbumInvitationRecord": 14 + shift,
        "ExtendedAttributes": 24 + shift,
        "GenericAlbum": g,
        "Album": g + 1,
        "CloudSharedAlbum": g + 2,
        "Folder": g + 4,
        "InternalResource": g + 14,
        "MigrationHistory": g + 20,
        "Moment": g + 22,
        "UnmanagedAdjustment": g + 40,
    }


_ASSET = (
    "ZKIND ZKINDSUBTYPE ZFAVORITE ZHIDDEN ZTRASHEDSTATE ZTRASHEDBYPARTICIPANT ZDELETEREASON"
    " ZCLOUDDELETESTATE ZCLOUDLOCALSTATE ZCLOUDPLACEHOLDERKIND ZCLOUDISMYASSET ZCLOUDISDELETABLE"
    " ZCOMPLETE ZBUNDLESCOPE ZSYNDICATIONSTATE ZWIDTH ZHEIGHT ZORIENTATION ZPLAYBACKSTYLE"
    " ZPLAYBACKVARIATION ZSAVEDASSETTYPE ZVISIBILITYSTATE ZAVALANCHEPICKTYPE"
    " ZVIDEOCPVISIBILITYSTATE ZVIDEOKEYFRAMETIMESCALE ZADDITIONALATTRIBUTES ZEXTENDEDATTRIBUTES"
    " ZMASTER ZMOMENT ZDATECREATED ZMODIFICATIONDATE ZADDEDDATE ZTRASHEDDATE ZADJUSTMENTTIMESTAMP"
    " ZSORTTOKEN ZLASTSHAREDDATE ZCLOUDSERVERPUBLISHDATE ZDURATION ZLATITUDE ZLONGITUDE"
    " ZVIDEOCPDURATIONVALUE ZVIDEOKEYFRAMEVALUE ZDIRECTORY ZFILENAME ZUNIFORMTYPEIDENTIFIER ZUUID"
    " ZMEDIAGROUPUUID ZCLOUDASSETGUID ZCLOUDCOLLECTIONGUID ZAVALANCHEUUID"
)
_ATTRIBUTES = (
    "ZASSET ZORIGINALFILESIZE ZORIGINALWIDTH ZORIGINALHEIGHT ZORIGINALORIENTATION ZTIMEZONEOFFSET"
    " ZINFERREDTIMEZONEOFFSET ZIMPORTEDBY ZCLOUDKINDSUBTYPE ZUNMANAGEDADJUSTMENT ZSHARETYPE"
    " ZVIEWCOUNT ZPLAYCOUNT ZSHARECOUNT ZVIDEOCPDURATIONTIMESCALE ZVIDEOCPDISPLAYVALUE"
    " ZVIDEOCPDISPLAYTIMESCALE ZPTPTRASHEDSTATE ZLASTVIEWEDDATE ZEXIFTIMESTAMPSTRING"
    " ZORIGINALFILENAME ZTIMEZONENAME ZTITLE ZEDITORBUNDLEID ZIMPORTEDBYBUNDLEIDENTIFIER"
    " ZORIGINATINGASSETIDENTIFIER"
)
_RESOURCE = (
    "ZASSET ZRESOURCETYPE ZVERSION ZRECIPEID ZDATASTORECLASSID ZDATASTORESUBTYPE ZCLOUDSOURCETYPE"
    " ZLOCALAVAILABILITY ZLOCALAVAILABILITYTARGET ZREMOTEAVAILABILITY ZREMOTEAVAILABILITYTARGET"
    " ZCLOUDLOCALSTATE ZCLOUDDELETESTATE ZTRASHEDSTATE ZPTPTRASHEDSTATE ZUNORIENTEDWIDTH"
    " ZUNORIENTEDHEIGHT ZDATALENGTH ZCLOUDPREFETCHCOUNT ZTRASHEDDATE ZCLOUDMASTERDATECREATED"
    " ZCLOUDLASTPREFETCHDATE ZFINGERPRINT ZCOMPACTUTI"
)
_ALBUM = (
    "ZKIND ZTRASHEDSTATE ZCLOUDLOCALSTATE ZCLOUDDELETESTATE ZCACHEDCOUNT ZCACHEDPHOTOSCOUNT"
    " ZCACHEDVIDEOSCOUNT ZUNSEENASSETSCOUNT ZPENDINGITEMSCOUNT ZCUSTOMSORTKEY ZCUSTOMSORTASCENDING"
    " ZISPINNED ZISPROTOTYPE ZPRIVACYSTATE ZSYNCEVENTORDERKEY ZHASUNSEENCONTENT ZKEYASSET"
    " ZPARENTFOLDER Z_FOK_PARENTFOLDER ZCLOUDRELATIONSHIPSTATE ZCLOUDMULTIPLECONTRIBUTORSENABLED"
    " ZCLOUDNOTIFICATIONSENABLED ZCLOUDPUBLICURLENABLED ZISOWNED ZCREATIONDATE ZSTARTDATE ZENDDATE"
    " ZTRASHEDDATE ZCLOUDCREATIONDATE ZCLOUDSUBSCRIPTIONDATE ZCLOUDLASTCONTRIBUTIONDATE ZTITLE"
    " ZUUID ZCLOUDGUID ZCLOUDOWNERFIRSTNAME ZCLOUDOWNERLASTNAME ZCLOUDOWNERFULLNAME"
    " ZCLOUDOWNEREMAILKEY ZCLOUDPERSONID ZPUBLICURL ZIMPORTSESSIONID"
)
_TABLES = {
    "ZASSET": _ASSET,
    "ZADDITIONALASSETATTRIBUTES": _ATTRIBUTES,
    "ZEXTENDEDATTRIBUTES": "ZASSET ZFLASHFIRED ZISO ZAPERTURE ZFOCALLENGTH ZLATITUDE ZLONGITUDE"
    " ZDURATION ZCAMERAMAKE ZCAMERAMODEL ZLENSMODEL ZCODEC",
    "ZINTERNALRESOURCE": _RESOURCE,
    "ZCLOUDMASTER": "ZCLOUDLOCALSTATE ZIMPORTEDBY ZPLACEHOLDERSTATE ZMEDIAMETADATA"
    " ZMOMENTSHARE ZCREATIONDATE ZIMPORTDATE ZCLOUDMASTERGUID ZORIGINALFILENAME"
    " ZUNIFORMTYPEIDENTIFIER ZIMPORTEDBYBUNDLEIDENTIFIER ZIMPORTSESSIONID ZCODECNAME",
    "ZCLOUDRESOURCE": "ZASSET ZCLOUDMASTER ZTYPE ZWIDTH ZHEIGHT ZFILESIZE ZISAVAILABLE"
    " ZISLOCALLYAVAILABLE ZPREFETCHCOUNT ZSOURCETYPE ZDATECREATED ZLASTPREFETCHDATE"
    " ZLASTONDEMANDDOWNLOADDATE ZPRUNEDAT ZASSETUUID ZFINGERPRINT ZFILEPATH ZITEMIDENTIFIER"
    " ZUNIFORMTYPEIDENTIFIER",
    "ZUNMANAGEDADJUSTMENT": "ZASSETATTRIBUTES ZADJUSTMENTRENDERTYPES ZADJUSTMENTFORMATVERSION"
    " ZADJUSTMENTTIMESTAMP ZADJUSTMENTBASEIMAGEFORMAT ZADJUSTMENTFORMATIDENTIFIER"
    " ZEDITORLOCALIZEDNAME ZUUID ZOTHERADJUSTMENTSFINGERPRINT"
    " ZSIMILARTOORIGINALADJUSTMENTSFINGERPRINT",
    "ZGENERICALBUM": _ALBUM,
    "ZALBUMLIST": "ZIDENTIFIER ZNEEDSREORDERINGNUMBER ZUUID",
    "ZMOMENT": "ZCACHEDCOUNT ZCACHEDPHOTOSCOUNT ZCACHEDVIDEOSCOUNT ZTIMEZONEOFFSET ZTRASHEDSTATE"
    " ZAPPROXIMATELATITUDE ZAPPROXIMATELONGITUDE ZSTARTDATE ZENDDATE ZREPRESENTATIVEDATE"
    " ZMODIFICATIONDATE ZTITLE ZSUBTITLE ZUUID",
    "ZCLOUDSHAREDALBUMINVITATIONRECORD": "ZALBUM Z_FOK_ALBUM ZINVITATIONSTATE"
    " ZINVITATIONSTATELOCAL ZISMINE ZINVITEESUBSCRIPTIONDATE ZALBUMGUID ZCLOUDGUID"
    " ZINVITEEEMAILKEY ZINVITEEFIRSTNAME ZINVITEELASTNAME ZINVITEEFULLNAME ZUUID",
    "ZMIGRATIONHISTORY": "ZINDEX ZMIGRATIONTYPE ZMODELVERSION ZSOURCEMODELVERSION"
    " ZFORCEREBUILDREASON ZORIGIN ZMIGRATIONDATE ZOSVERSION ZSTOREUUID ZGLOBALKEYVALUES",
}
_RENAMED_IN_18 = {
    "ZHASADJUSTMENTS": "ZADJUSTMENTSSTATE",
    "ZMASTERFINGERPRINT": "ZORIGINALSTABLEHASH",
    "ZADJUSTEDFINGERPRINT": "ZADJUSTEDSTABLEHASH",
}
_ADDED_IN_18 = {
    "ZASSET": " ZISDETECTEDSCREENSHOT ZISRECENTLYSAVED",
    "ZINTERNALRESOURCE": " ZSTABLEHASH",
}
_STRINGS = ("UUID", "GUID", "NAME", "TITLE", "DIRECTORY", "IDENTIFIER", "KEY", "STRING", "URL")
_STRINGS_EXACT = {"ZFINGERPRINT", "ZFILEPATH", "ZCODEC", "ZCOMPACTUTI", "ZOSVERSION"}
_STRINGS_EXACT |= {"ZMASTERFINGERPRINT", "ZADJUSTEDFINGERPRINT", "ZSTABLEHASH", "ZSUBTITLE"}
_STRINGS_EXACT |= {"ZORIGINALSTABLEHASH", "ZADJUSTEDSTABLEHASH", "ZCLOUDPERSONID"}
_FLOATS = {"ZDURATION", "ZLATITUDE", "ZLONGITUDE", "ZADJUSTMENTFORMATVERSION", "ZAPERTURE"}
_FLOATS |= {"ZFOCALLENGTH", "ZAPPROXIMATELATITUDE", "ZAPPROXIMATELONGITUDE", "ZSORTTOKEN"}
_FLOATS |= {"ZVIDEOCPDURATIONVALUE", "ZVIDEOKEYFRAMEVALUE", "ZCUSTOMSORTKEY"}
_BLOBS = {"ZGLOBALKEYVALUES", "ZPUBLICURL"}


def tables(model: Model) -> dict[str, tuple[str, ...]]:
    """Table -> its columns after ``Z_PK Z_ENT Z_OPT``, for ``model``'s release."""
    found = {}
    for table, spec in _TABLES.items():
        names = spec.split() + _extra(table)
        if model.variant == "18":
            names += _ADDED_IN_18.get(table, "").split()
            names = [_RENAMED_IN_18.get(name, name) for name in names]
        found[table] = tuple(names)
    return found


def _extra(table: str) -> list[str]:
    if table == "ZASSET":
        return ["ZHASADJUSTMENTS"]
    if table == "ZADDITIONALASSETATTRIBUTES":
        return ["ZMASTERFINGERPRINT", "ZADJUSTEDFINGERPRINT"]
    return []


def column_type(name: str) -> str:
    """Core Data's SQLite type for a column, from its name (dates are TIMESTAMP)."""
    if name in _BLOBS:
        return "BLOB"
    if name in _FLOATS:
        return "FLOAT"
    if name.endswith(("DATE", "TIMESTAMP", "PRUNEDAT")) or name == "ZDATECREATED":
        return "TIMESTAMP"
    if name in _STRINGS_EXACT or name.endswith(_STRINGS) or name.endswith("TYPEIDENTIFIER"):
        return "VARCHAR"
    return "INTEGER"


def create_statements(model: Model) -> list[str]:
    """Every CREATE TABLE and CREATE INDEX of ``model``'s store."""
    statements = []
    for table, names in tables(model).items():
        columns = ", ".join(f"{name} {column_type(name)}" for name in names)
        statements.append(
            f"CREATE TABLE {table} (Z_PK INTEGER PRIMARY KEY, Z_ENT INTEGER, Z_OPT INTEGER,"
            f" {columns})"
        )
    n, g, a = model.album, model.generic_album, ASSET
    statements += [
        f"CREATE TABLE Z_{n}ASSETS (Z_{n}ALBUMS INTEGER, Z_{a}ASSETS INTEGER,"
        f" Z_FOK_{a}ASSETS INTEGER, PRIMARY KEY (Z_{n}ALBUMS, Z_{a}ASSETS))",
        f"CREATE TABLE Z_{g}ALBUMLISTS (Z_{g}ALBUMS INTEGER, Z_{ALBUM_LIST}ALBUMLISTS INTEGER,"
        f" Z_FOK_{g}ALBUMS INTEGER, PRIMARY KEY (Z_{g}ALBUMS, Z_{ALBUM_LIST}ALBUMLISTS))",
        "CREATE TABLE Z_PRIMARYKEY (Z_ENT INTEGER PRIMARY KEY, Z_NAME VARCHAR, Z_SUPER INTEGER,"
        " Z_MAX INTEGER)",
        "CREATE TABLE Z_METADATA (Z_VERSION INTEGER PRIMARY KEY, Z_UUID VARCHAR(255),"
        " Z_PLIST BLOB)",
        "CREATE TABLE Z_MODELCACHE (Z_CONTENT BLOB)",
        f"CREATE INDEX Z_{n}ASSETS_Z_{a}ASSETS_INDEX ON Z_{n}ASSETS (Z_{a}ASSETS, Z_{n}ALBUMS)",
    ]
    for table, column in (
        ("ZASSET", "ZADDITIONALATTRIBUTES"),
        ("ZASSET", "ZMASTER"),
        ("ZASSET", "ZMOMENT"),
        ("ZADDITIONALASSETATTRIBUTES", "ZASSET"),
        ("ZINTERNALRESOURCE", "ZASSET"),
        ("ZCLOUDRESOURCE", "ZASSET"),
        ("ZGENERICALBUM", "ZPARENTFOLDER"),
    ):
        statements.append(f"CREATE INDEX {table}_{column}_INDEX ON {table} ({column})")
    return statements
