-- Daily trends. The views keep uniqExact states of mention ids rather than
-- counts, so a mention inserted twice (re-collection, spool replay, re-scoring)
-- is still counted once, and states merge exactly across any subset of the key:
-- per brand, location, source, language, or any combination.
-- The day is the publication day, or the collection day when the site gave none.
-- A re-score that flips a verdict leaves the earlier verdict counted as well;
-- for exact per-mention figures query mentions FINAL.
CREATE TABLE IF NOT EXISTS trend_daily (
    day        Date,
    brand      String,
    location   String,
    source     String,
    lang       String,
    mentions   AggregateFunction(uniqExact, String),
    negatives  AggregateFunction(uniqExactIf, String, UInt8),
    severe     AggregateFunction(uniqExactIf, String, UInt8)
) ENGINE = AggregatingMergeTree()
PARTITION BY toYYYYMM(day)
ORDER BY (day, brand, location, source, lang);

CREATE MATERIALIZED VIEW IF NOT EXISTS trend_daily_mv TO trend_daily AS
SELECT
    toDate(if(toUInt32(published_at) = 0, collected_at, published_at)) AS day,
    brand, location, source, lang,
    uniqExactState(id) AS mentions,
    uniqExactIfState(id, negative) AS negatives,
    uniqExactIfState(id, toUInt8(severity IN ('high', 'critical'))) AS severe
FROM mentions
GROUP BY day, brand, location, source, lang;

-- Negative mentions per aspect and day.
CREATE TABLE IF NOT EXISTS trend_daily_aspect (
    day        Date,
    brand      String,
    location   String,
    aspect     String,
    negatives  AggregateFunction(uniqExact, String)
) ENGINE = AggregatingMergeTree()
PARTITION BY toYYYYMM(day)
ORDER BY (day, brand, location, aspect);

CREATE MATERIALIZED VIEW IF NOT EXISTS trend_daily_aspect_mv TO trend_daily_aspect AS
SELECT
    toDate(if(toUInt32(published_at) = 0, collected_at, published_at)) AS day,
    brand, location, aspect,
    uniqExactState(id) AS negatives
FROM mentions
ARRAY JOIN aspects AS aspect
WHERE negative = 1
GROUP BY day, brand, location, aspect;
