-- Storm alerts: negative volume far above its trailing baseline. One row per
-- storm (key and window); storm_id is deterministic, so a re-run check
-- collapses, and the cooldown is read from here.
CREATE TABLE IF NOT EXISTS storms (
    storm_id     String,
    at           DateTime,
    window_start DateTime,
    window_end   DateTime,
    brand        String,
    location     String,
    aspect       String,
    count        UInt32,
    mean         Float32,
    stddev       Float32,
    receiver     String,
    case_ids     Array(String)
) ENGINE = ReplacingMergeTree()
PARTITION BY toYYYYMM(at)
ORDER BY storm_id;
