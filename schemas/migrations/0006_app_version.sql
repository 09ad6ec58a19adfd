-- The app version an app-store review was written against: release
-- regressions show up as a cluster of bad reviews on one version.
ALTER TABLE mentions ADD COLUMN app_version String AFTER story_id;
