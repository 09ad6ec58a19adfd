-- One row per collection pass of one source: what it fetched and how it ended.
CREATE TABLE IF NOT EXISTS collection_runs (
    run_id      String,
    source      String,
    kind        String,
    started_at  DateTime,
    finished_at DateTime,
    fetched     UInt32,
    new         UInt32,
    errors      UInt32,
    status      Enum8('ok' = 0, 'partial' = 1, 'failed' = 2),
    last_error  String,
    worker      String
) ENGINE = MergeTree()
PARTITION BY toYYYYMM(started_at)
ORDER BY (source, started_at, run_id);

-- Per-source cursors and HTTP validators. The current state of a source is the
-- row with the highest version (FINAL, or argMax(cursor, version)).
CREATE TABLE IF NOT EXISTS source_state (
    source        String,
    cursor        String,
    etag          String,
    last_modified String,
    updated_at    DateTime,
    version       UInt64
) ENGINE = ReplacingMergeTree(version)
ORDER BY source;
