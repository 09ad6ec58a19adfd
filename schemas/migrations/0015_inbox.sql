-- The web inbox (issue 12) and the scorer's feedback.
--
-- labels: what staff said about a mention's score, for the learning scorer
-- (issue 13). One row per person and mention after merges (a later label by
-- the same person replaces the earlier one: ReplacingMergeTree(at)); read
-- `FROM labels FINAL`, and per mention `argMax(label, at)` across people.
-- label is the sentiment the person says the mention has ("not a complaint"
-- is neutral or positive); aspects_corrected = 1 says `aspects` is the
-- right aspect list ("wrong aspect"); scorer_version and the scored
-- aspects/negative record what was corrected, so a learner can weigh old
-- feedback against the scorer it trains. The text is read from mentions by id.
CREATE TABLE IF NOT EXISTS labels (
    mention_id        String,
    who               String,
    at                DateTime,
    label             Enum8('negative' = 1, 'neutral' = 2, 'positive' = 3),
    aspects_corrected UInt8,
    aspects           Array(String),
    case_id           String,
    brand             String,
    location          String,
    lang              String,
    scorer_version    String,
    scored_negative   UInt8,
    scored_aspects    Array(String),
    note              String
) ENGINE = ReplacingMergeTree(at)
ORDER BY (mention_id, who);

-- case_inbox: each case's mentions with their labels, one row per case and
-- mention (after FINAL), ordered by case: the inbox filters cases by source,
-- language, aspect, signal and review text reading this table (a few
-- hundred bytes per case, about one mention in a hundred), never mentions.
-- Fed in the same INSERT as mentions, like case_queue.
CREATE TABLE IF NOT EXISTS case_inbox (
    case_id      String,
    mention_id   String,
    brand        String,
    location     String,
    source       String,
    kind         String,
    lang         String,
    severity     Enum8('none' = 0, 'low' = 1, 'medium' = 2, 'high' = 3, 'critical' = 4),
    aspects      Array(String),
    signals      Array(String),
    rating       Float32,
    rating_max   Float32,
    author       String,
    published_at DateTime,
    text         String,
    version      UInt64
) ENGINE = ReplacingMergeTree(version)
ORDER BY (case_id, mention_id);

CREATE MATERIALIZED VIEW IF NOT EXISTS case_inbox_mv TO case_inbox AS
SELECT concat('case:', if(story_id != '', story_id, id)) AS case_id, id AS mention_id,
    brand, location, source, kind, lang, severity, aspects, signals, rating, rating_max, author, published_at,
    substring(text, 1, 2000) AS text, version
FROM mentions
WHERE negative = 1;

INSERT INTO case_inbox (case_id, mention_id, brand, location, source, kind, lang, severity, aspects, signals, rating,
    rating_max, author, published_at, text, version)
SELECT concat('case:', if(story_id != '', story_id, id)), id, brand, location, source, kind, lang, severity, aspects,
    signals, rating, rating_max, author, published_at, substring(text, 1, 2000), version
FROM mentions FINAL
WHERE negative = 1;

-- case_assignee: who each case is assigned to ("assigned" case events carry
-- the assignee in note), one row per case after merges.
CREATE TABLE IF NOT EXISTS case_assignee (
    case_id  String,
    assignee AggregateFunction(argMax, String, DateTime)
) ENGINE = AggregatingMergeTree()
ORDER BY case_id;

CREATE MATERIALIZED VIEW IF NOT EXISTS case_assignee_mv TO case_assignee AS
SELECT case_id, argMaxState(note, at) AS assignee
FROM case_events
WHERE event = 'assigned'
GROUP BY case_id;

INSERT INTO case_assignee
SELECT case_id, argMaxState(note, at)
FROM case_events
WHERE event = 'assigned'
GROUP BY case_id;
