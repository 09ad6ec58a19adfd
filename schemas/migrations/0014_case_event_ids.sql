-- case_event_ids: every case event id, ordered by itself and not
-- partitioned, so "is this event recorded?" (what makes a re-run send
-- nothing twice) is a primary-key lookup. In case_events, ordered by
-- (case_id, event_id) and partitioned by month, the same lookup reads a
-- granule in every month of the history.
CREATE TABLE IF NOT EXISTS case_event_ids (
    event_id String,
    case_id  String
) ENGINE = ReplacingMergeTree()
ORDER BY event_id;

-- The view first, then the back-fill: an event inserted in between is in
-- both, and the table collapses it.
CREATE MATERIALIZED VIEW IF NOT EXISTS case_event_ids_mv TO case_event_ids AS
SELECT event_id, case_id FROM case_events;

INSERT INTO case_event_ids SELECT event_id, case_id FROM case_events;
