-- The case queue: the transactional outbox of the case pipeline. Every
-- negative mention inserted into `mentions` adds a row here in the same
-- INSERT (the materialized view runs inside it), so no crash of earshot can
-- leave a stored negative mention without its case: the dispatcher's
-- router reads this table by time (the primary key) and opens, routes and
-- queues the cases it has not routed yet ("routed" event in case_events).
-- Repeats (spool replays, re-scoring) add rows for an already routed case;
-- the router skips them. opened_at is the server's insert time, so a
-- back-filled import of old reviews is still in the router's window.
CREATE TABLE IF NOT EXISTS case_queue (
    opened_at  DateTime,
    case_id    String,
    mention_id String
) ENGINE = MergeTree()
PARTITION BY toYYYYMM(opened_at)
ORDER BY (opened_at, case_id);

-- case_id must equal alerts.CaseID: one case per story (TestCaseIDMatchesView).
CREATE MATERIALIZED VIEW IF NOT EXISTS case_queue_mv TO case_queue AS
SELECT now() AS opened_at, concat('case:', if(story_id != '', story_id, id)) AS case_id, id AS mention_id
FROM mentions
WHERE negative = 1;

-- Cases opened by earlier versions in the last week and not routed yet get
-- a queue row, so an upgrade mid-flight loses none; routing them again is
-- harmless (events have deterministic ids and collapse).
INSERT INTO case_queue (opened_at, case_id, mention_id)
SELECT min(at), case_id, any(mention_id) FROM case_events
WHERE event = 'opened' AND at >= now() - 604800
GROUP BY case_id;
