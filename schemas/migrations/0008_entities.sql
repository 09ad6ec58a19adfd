-- People, places and organisations the scorer found in a flagged English
-- mention ("Maria (PERSON)"): staff names for the reply, places for routing.
ALTER TABLE mentions ADD COLUMN entities Array(String) AFTER reasons;
