-- case_inbox.text was cut at 2000 bytes (0015's `substring`), which splits
-- a character of Hindi, Cyrillic or Armenian text in two: the inbox then
-- shows a broken last character, and a search can miss it. Cut at 2000
-- characters instead (`substringUTF8`).
--
-- 18.16 cannot alter a materialized view's query (MODIFY QUERY came much
-- later), so the view is dropped and created again; its target table and
-- the rows in it stay. The backfill then writes every negative mention's
-- row again from mentions: the long texts get their whole last character,
-- and a mention inserted in the moment between DROP and CREATE is not
-- missed. Rows keep their version, and of equal versions
-- ReplacingMergeTree keeps the last inserted: these. Every statement can
-- run again (IF EXISTS, IF NOT EXISTS, a backfill that collapses).
DROP TABLE IF EXISTS case_inbox_mv;

CREATE MATERIALIZED VIEW IF NOT EXISTS case_inbox_mv TO case_inbox AS
SELECT concat('case:', if(story_id != '', story_id, id)) AS case_id, id AS mention_id,
    brand, location, source, kind, lang, severity, aspects, signals, rating, rating_max, author, published_at,
    substringUTF8(text, 1, 2000) AS text, version
FROM mentions
WHERE negative = 1;

INSERT INTO case_inbox (case_id, mention_id, brand, location, source, kind, lang, severity, aspects, signals, rating,
    rating_max, author, published_at, text, version)
SELECT concat('case:', if(story_id != '', story_id, id)), id, brand, location, source, kind, lang, severity, aspects,
    signals, rating, rating_max, author, published_at, substringUTF8(text, 1, 2000), version
FROM mentions FINAL
WHERE negative = 1;
