-- Links the same review posted on several sites (same author, same text
-- once normalised) into one story, so that staff get one case, not two.
-- 18.16 has no ADD COLUMN IF NOT EXISTS: the migration runner treats
-- "column already exists" as done, so a half-applied run can be repeated.
ALTER TABLE mentions ADD COLUMN story_id String AFTER parent_id;
