-- The case queue carries the routing labels of its mention, so the router
-- routes a page of cases without reading their mentions (a page of 5,000
-- cases is 5,000 ids scattered over the whole mentions table).
ALTER TABLE case_queue ADD COLUMN brand String;
ALTER TABLE case_queue ADD COLUMN location String;
ALTER TABLE case_queue ADD COLUMN source String;
ALTER TABLE case_queue ADD COLUMN kind String;
ALTER TABLE case_queue ADD COLUMN lang String;
ALTER TABLE case_queue ADD COLUMN severity Enum8('none' = 0, 'low' = 1, 'medium' = 2, 'high' = 3, 'critical' = 4);
ALTER TABLE case_queue ADD COLUMN aspects Array(String);
ALTER TABLE case_queue ADD COLUMN signals Array(String);

-- The new view is created before the old one is dropped: in between, a
-- negative mention is queued twice (one row without labels), which the
-- router reads as one case; never zero times.
CREATE MATERIALIZED VIEW IF NOT EXISTS case_queue_labels_mv TO case_queue AS
SELECT now() AS opened_at, concat('case:', if(story_id != '', story_id, id)) AS case_id, id AS mention_id,
    brand, location, source, kind, lang, severity, aspects, signals
FROM mentions
WHERE negative = 1;

DROP TABLE IF EXISTS case_queue_mv;
