-- Tables that let every recurring query read a window or a key instead of
-- the whole history (issue 16). Each is filled by a materialized view in the
-- same INSERT as its source rows, and back-filled once below.
--
-- mentions keeps ORDER BY id and no partitioning: ReplacingMergeTree only
-- collapses versions of an id inside one partition, and no column but the
-- id is stable across re-collection and re-scoring, so partitioning it by
-- any time would keep duplicate versions forever. Reads by time go to the
-- tables below instead, and reads by id stay primary-key lookups on mentions.

-- case_state: one row per case after merges, the case's current state as
-- aggregate states, so listing, escalation and digests aggregate one row
-- per case instead of every event of every case. The state key is
-- case_events' (event != 'opened', at, state) packed into one UInt64:
-- bit 40 for "not opened", the Unix time shifted by 8 bits, the state in
-- the low byte (18.16 keeps tuple-valued argMax states unreliably).
-- Column names differ from case_events' so that the view's aliases do not
-- shadow the columns its expressions read.
-- Repeated events (retries, replays) aggregate to the same result.
CREATE TABLE IF NOT EXISTS case_state (
    case_id      String,
    mention      AggregateFunction(anyIf, String, UInt8),
    cur_state    AggregateFunction(argMaxIf, UInt8, UInt64, UInt8),
    cur_actor    AggregateFunction(argMaxIf, String, UInt64, UInt8),
    cur_outcome  AggregateFunction(argMaxIf, String, UInt64, UInt8),
    case_brand   AggregateFunction(anyIf, String, UInt8),
    case_location AggregateFunction(anyIf, String, UInt8),
    max_severity AggregateFunction(max, UInt8),
    opened_at    AggregateFunction(min, DateTime),
    updated_at   AggregateFunction(max, DateTime),
    acked_at     AggregateFunction(minIf, DateTime, UInt8),
    escalated    AggregateFunction(maxIf, UInt8, UInt8),
    receivers    AggregateFunction(groupUniqArrayIf, String, UInt8)
) ENGINE = AggregatingMergeTree()
ORDER BY case_id;

CREATE MATERIALIZED VIEW IF NOT EXISTS case_state_mv TO case_state AS
SELECT
    case_id,
    anyIfState(mention_id, toUInt8(mention_id != '')) AS mention,
    argMaxIfState(toUInt8(state), toUInt64(event != 'opened') * 1099511627776 + toUInt64(toUInt32(at)) * 256 + toUInt8(state),
        toUInt8(event IN ('opened', 'acknowledged', 'held', 'resumed', 'resolved'))) AS cur_state,
    argMaxIfState(actor, toUInt64(event != 'opened') * 1099511627776 + toUInt64(toUInt32(at)) * 256 + toUInt8(state),
        toUInt8(event IN ('opened', 'acknowledged', 'held', 'resumed', 'resolved'))) AS cur_actor,
    argMaxIfState(outcome, toUInt64(event != 'opened') * 1099511627776 + toUInt64(toUInt32(at)) * 256 + toUInt8(state),
        toUInt8(event IN ('opened', 'acknowledged', 'held', 'resumed', 'resolved'))) AS cur_outcome,
    anyIfState(brand, toUInt8(brand != '')) AS case_brand,
    anyIfState(location, toUInt8(location != '')) AS case_location,
    maxState(toUInt8(severity)) AS max_severity,
    minState(at) AS opened_at,
    maxState(at) AS updated_at,
    minIfState(at, toUInt8(event = 'acknowledged')) AS acked_at,
    maxIfState(step, toUInt8(event = 'escalated')) AS escalated,
    groupUniqArrayIfState(receiver, toUInt8(receiver != '')) AS receivers
FROM case_events
GROUP BY case_id;

INSERT INTO case_state
SELECT
    case_id,
    anyIfState(mention_id, toUInt8(mention_id != '')),
    argMaxIfState(toUInt8(state), toUInt64(event != 'opened') * 1099511627776 + toUInt64(toUInt32(at)) * 256 + toUInt8(state),
        toUInt8(event IN ('opened', 'acknowledged', 'held', 'resumed', 'resolved'))),
    argMaxIfState(actor, toUInt64(event != 'opened') * 1099511627776 + toUInt64(toUInt32(at)) * 256 + toUInt8(state),
        toUInt8(event IN ('opened', 'acknowledged', 'held', 'resumed', 'resolved'))),
    argMaxIfState(outcome, toUInt64(event != 'opened') * 1099511627776 + toUInt64(toUInt32(at)) * 256 + toUInt8(state),
        toUInt8(event IN ('opened', 'acknowledged', 'held', 'resumed', 'resolved'))),
    anyIfState(brand, toUInt8(brand != '')),
    anyIfState(location, toUInt8(location != '')),
    maxState(toUInt8(severity)),
    minState(at),
    maxState(at),
    minIfState(at, toUInt8(event = 'acknowledged')),
    maxIfState(step, toUInt8(event = 'escalated')),
    groupUniqArrayIfState(receiver, toUInt8(receiver != ''))
FROM case_events
GROUP BY case_id;

-- negatives: every stored negative mention by brand and time (published,
-- else collected: the trend tables' time), partitioned by month, so storm
-- checks and "latest negatives" read their window only. A mention stored
-- twice has two rows here: readers count uniqExact(id). A re-score that
-- clears a verdict leaves the row (as in the trend tables), and readers that
-- show mentions join back to mentions FINAL by id.
CREATE TABLE IF NOT EXISTS negatives (
    at       DateTime,
    brand    String,
    location String,
    aspects  Array(String),
    severity Enum8('none' = 0, 'low' = 1, 'medium' = 2, 'high' = 3, 'critical' = 4),
    id       String
) ENGINE = MergeTree()
PARTITION BY toYYYYMM(at)
ORDER BY (brand, at, id);

CREATE MATERIALIZED VIEW IF NOT EXISTS negatives_mv TO negatives AS
SELECT if(published_at > toDateTime(0), published_at, collected_at) AS at, brand, location, aspects, severity, id
FROM mentions
WHERE negative = 1;

INSERT INTO negatives (at, brand, location, aspects, severity, id)
SELECT if(published_at > toDateTime(0), published_at, collected_at), brand, location, aspects, severity, id
FROM mentions FINAL
WHERE negative = 1;

-- complaints: negative mentions by brand and author, for the scorer's
-- repeat-complainer check (a primary-key range per author instead of a
-- scan of the brand's history).
CREATE TABLE IF NOT EXISTS complaints (
    brand        String,
    author       String,
    published_at DateTime,
    story_id     String,
    id           String
) ENGINE = MergeTree()
ORDER BY (brand, author, published_at);

CREATE MATERIALIZED VIEW IF NOT EXISTS complaints_mv TO complaints AS
SELECT brand, author, published_at, story_id, id
FROM mentions
WHERE negative = 1 AND author != '';

INSERT INTO complaints (brand, author, published_at, story_id, id)
SELECT brand, author, published_at, story_id, id
FROM mentions FINAL
WHERE negative = 1 AND author != '';

-- trend_hourly: trend_daily by the hour and location, for digests, whose
-- periods end at their schedule's time rather than at midnight: a digest
-- counts whole hours (UTC) instead of scanning mentions FINAL.
CREATE TABLE IF NOT EXISTS trend_hourly (
    hour      DateTime,
    brand     String,
    location  String,
    mentions  AggregateFunction(uniqExact, String),
    negatives AggregateFunction(uniqExactIf, String, UInt8),
    severe    AggregateFunction(uniqExactIf, String, UInt8)
) ENGINE = AggregatingMergeTree()
PARTITION BY toYYYYMM(hour)
ORDER BY (hour, brand, location);

CREATE MATERIALIZED VIEW IF NOT EXISTS trend_hourly_mv TO trend_hourly AS
SELECT
    toStartOfHour(if(toUInt32(published_at) = 0, collected_at, published_at)) AS hour,
    brand, location,
    uniqExactState(id) AS mentions,
    uniqExactIfState(id, negative) AS negatives,
    uniqExactIfState(id, toUInt8(negative = 1 AND severity IN ('high', 'critical'))) AS severe
FROM mentions
GROUP BY hour, brand, location;

INSERT INTO trend_hourly
SELECT
    toStartOfHour(if(toUInt32(published_at) = 0, collected_at, published_at)) AS hour,
    brand, location,
    uniqExactState(id),
    uniqExactIfState(id, negative),
    uniqExactIfState(id, toUInt8(negative = 1 AND severity IN ('high', 'critical')))
FROM mentions FINAL
GROUP BY hour, brand, location;
