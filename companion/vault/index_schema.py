"""The index's SQLite schema and the queries that need more than one table (``vault.index``).

A cache of another schema version is rebuilt from the catalogue, never migrated.
"""

SCHEMA_VERSION = "4"  # 3: scan and place records; 4: each segment's size and MAC

# The current version of each asset with the latest full check of its object. A failed check
# that is older than the asset's record no longer applies: the object was written again since
# (verify moves a damaged object aside, so a later backup of the same bytes stores it afresh).
LAST_CHECK = """
WITH last_check AS (
    SELECT object_id, ok, at, segment, line FROM (
        SELECT object_id, ok, at, segment, line, row_number() OVER (
            PARTITION BY object_id ORDER BY segment DESC, line DESC) AS newest
        FROM events WHERE kind = 'verified')
    WHERE newest = 1)
"""
AFTER_RECORD = "(c.segment > a.segment OR (c.segment = a.segment AND c.line > a.line))"
CURRENT = f"""{LAST_CHECK}
SELECT a.record, c.ok, c.at, {AFTER_RECORD} AS after_record
FROM assets a LEFT JOIN last_check c ON c.object_id = a.object_id
"""
# What a backup needs to skip a file without reading it, for every asset of one source at once.
FINGERPRINTS = f"""{LAST_CHECK}
SELECT a.path, a.size, a.mtime_ns, a.object_id, coalesce(c.ok = 0 AND {AFTER_RECORD}, 0)
FROM assets a LEFT JOIN last_check c ON c.object_id = a.object_id
WHERE a.source = ?
"""

SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE segments (name TEXT PRIMARY KEY, size INTEGER NOT NULL, mac TEXT NOT NULL);
CREATE TABLE versions (
    asset_id TEXT NOT NULL, segment TEXT NOT NULL, line INTEGER NOT NULL,
    object_id TEXT NOT NULL, record TEXT NOT NULL,
    PRIMARY KEY (segment, line)
);
CREATE TABLE assets (
    asset_id TEXT PRIMARY KEY, source TEXT NOT NULL, path TEXT NOT NULL,
    size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL, captured_utc REAL,
    object_id TEXT NOT NULL, record TEXT NOT NULL, segment TEXT NOT NULL, line INTEGER NOT NULL
);
CREATE INDEX assets_by_path ON assets (source, path);
CREATE TABLE events (
    segment TEXT NOT NULL, line INTEGER NOT NULL, kind TEXT NOT NULL, at TEXT NOT NULL,
    object_id TEXT, asset_id TEXT, ok INTEGER, record TEXT NOT NULL,
    PRIMARY KEY (segment, line)
);
CREATE INDEX events_by_object ON events (object_id, kind);
CREATE TABLE scans (
    object_id TEXT PRIMARY KEY, record TEXT NOT NULL, segment TEXT NOT NULL, line INTEGER NOT NULL
);
CREATE TABLE places (name TEXT PRIMARY KEY, record TEXT NOT NULL);
"""
