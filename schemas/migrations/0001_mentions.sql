-- Every mention ever collected, with its latest score. ReplacingMergeTree keeps
-- the row with the highest `version` per id, so re-collecting, re-scoring and
-- replaying the spool never duplicate after FINAL (or argMax(.., version)).
-- No PARTITION BY on purpose: rows with the same id only collapse inside one
-- partition, and no column except id is stable across re-collection.
CREATE TABLE IF NOT EXISTS mentions (
    id             String,
    source         String,
    kind           String,
    brand          String,
    location       String,
    url            String,
    author         String,
    title          String,
    text           String,
    rating         Float32,
    rating_max     Float32,
    lang           String,
    published_at   DateTime,
    collected_at   DateTime,
    likes          UInt64,
    shares         UInt64,
    replies        UInt64,
    followers      UInt64,
    parent_id      String,
    sentiment      Float32,
    negative       UInt8,
    severity       Enum8('none' = 0, 'low' = 1, 'medium' = 2, 'high' = 3, 'critical' = 4),
    aspects        Array(String),
    signals        Array(String),
    reasons        Array(String),
    scorer_version String,
    truncated      UInt8,
    version        UInt64
) ENGINE = ReplacingMergeTree(version)
ORDER BY id;
