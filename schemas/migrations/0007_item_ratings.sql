-- The aggregate rating a site shows for each reviewed item (a hotel, an
-- app), one row per observation, for rating-drift trends. A repeated pass
-- in the same second collapses after FINAL.
CREATE TABLE IF NOT EXISTS item_ratings (
    source       String,
    brand        String,
    location     String,
    item         String,
    url          String,
    rating       Float32,
    best         Float32,
    worst        Float32,
    rating_count UInt64,
    review_count UInt64,
    observed_at  DateTime
) ENGINE = ReplacingMergeTree()
PARTITION BY toYYYYMM(observed_at)
ORDER BY (source, item, observed_at);
