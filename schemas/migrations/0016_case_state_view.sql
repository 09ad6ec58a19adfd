-- case_current: each case's current state as plain columns, for analysts
-- (`SELECT * FROM case_current WHERE state != 'resolved'`). A view over
-- case_state (0012) with the same expressions as the inbox, `earshot cases`
-- and escalation (storage/cases.go caseSelect): the state of the latest
-- state-changing event, `opened` ranking below any other at the same
-- second. Reading it aggregates case_state, one row per case: it grows with
-- the cases (about one mention in a hundred), not the mentions.
-- The inner query's aliases differ from case_state's columns so that no
-- alias shadows a column an expression reads; the outer one names them.
-- acknowledged_at is NULL for a case never acknowledged.
CREATE VIEW IF NOT EXISTS case_current AS
SELECT
    case_id,
    m_id AS mention_id,
    st AS state,
    b AS brand,
    loc AS location,
    sev AS severity,
    o_at AS opened_at,
    nullIf(a_at, toDateTime(0)) AS acknowledged_at,
    u_at AS updated_at,
    who AS actor,
    how AS outcome,
    esc AS escalation_step,
    rcv AS receivers
FROM
(
    SELECT
        case_id,
        anyIfMerge(mention) AS m_id,
        arrayElement(['open', 'acknowledged', 'on_hold', 'resolved'], argMaxIfMerge(cur_state) + 1) AS st,
        anyIfMerge(case_brand) AS b,
        anyIfMerge(case_location) AS loc,
        arrayElement(['none', 'low', 'medium', 'high', 'critical'], maxMerge(max_severity) + 1) AS sev,
        minMerge(opened_at) AS o_at,
        minIfMerge(acked_at) AS a_at,
        maxMerge(updated_at) AS u_at,
        argMaxIfMerge(cur_actor) AS who,
        argMaxIfMerge(cur_outcome) AS how,
        maxIfMerge(escalated) AS esc,
        groupUniqArrayIfMerge(receivers) AS rcv
    FROM case_state
    GROUP BY case_id
);

-- Trends by the hour earshot stored a mention (collected_at) rather than
-- the hour it was published: `earshot report --count-by collected` and
-- digests that count discoveries. A site that shows only old reviews, an
-- import of last year's export, or the bundled demo still shows up in
-- "this week". Same sets of ids as trend_hourly (0012), with the language.
CREATE TABLE IF NOT EXISTS trend_collected_hourly (
    hour      DateTime,
    brand     String,
    location  String,
    lang      String,
    mentions  AggregateFunction(uniqExact, String),
    negatives AggregateFunction(uniqExactIf, String, UInt8),
    severe    AggregateFunction(uniqExactIf, String, UInt8)
) ENGINE = AggregatingMergeTree()
PARTITION BY toYYYYMM(hour)
ORDER BY (hour, brand, location, lang);

CREATE MATERIALIZED VIEW IF NOT EXISTS trend_collected_hourly_mv TO trend_collected_hourly AS
SELECT
    toStartOfHour(collected_at) AS hour,
    brand, location, lang,
    uniqExactState(id) AS mentions,
    uniqExactIfState(id, negative) AS negatives,
    uniqExactIfState(id, toUInt8(negative = 1 AND severity IN ('high', 'critical'))) AS severe
FROM mentions
GROUP BY hour, brand, location, lang;

INSERT INTO trend_collected_hourly
SELECT
    toStartOfHour(collected_at) AS hour,
    brand, location, lang,
    uniqExactState(id),
    uniqExactIfState(id, negative),
    uniqExactIfState(id, toUInt8(negative = 1 AND severity IN ('high', 'critical')))
FROM mentions FINAL
GROUP BY hour, brand, location, lang;

-- Negative mentions per aspect by the hour they were stored.
CREATE TABLE IF NOT EXISTS trend_collected_aspect_hourly (
    hour      DateTime,
    brand     String,
    location  String,
    aspect    String,
    negatives AggregateFunction(uniqExact, String)
) ENGINE = AggregatingMergeTree()
PARTITION BY toYYYYMM(hour)
ORDER BY (hour, brand, location, aspect);

CREATE MATERIALIZED VIEW IF NOT EXISTS trend_collected_aspect_hourly_mv TO trend_collected_aspect_hourly AS
SELECT
    toStartOfHour(collected_at) AS hour,
    brand, location, aspect,
    uniqExactState(id) AS negatives
FROM mentions
ARRAY JOIN aspects AS aspect
WHERE negative = 1
GROUP BY hour, brand, location, aspect;

INSERT INTO trend_collected_aspect_hourly
SELECT
    toStartOfHour(collected_at) AS hour,
    brand, location, aspect,
    uniqExactState(id)
FROM mentions FINAL
ARRAY JOIN aspects AS aspect
WHERE negative = 1
GROUP BY hour, brand, location, aspect;
