package storage

// in is the operator of a subquery filter (x IN (SELECT ...)). On a
// cluster it is GLOBAL IN: the subquery runs once, on the node Earshot
// talks to, over the Distributed tables, and its set goes to the shards.
// A plain IN is sent to the shards as written, where ClickHouse 18.16
// looks the subquery's table up in the database `default` (the
// distributed_product_mode setting does not catch it). On one server it
// stays a plain IN, whose set also prunes the primary key index, which
// 18.16 does not do for GLOBAL IN.
func (s *Store) in() string {
	if s.cluster != "" {
		return "GLOBAL IN"
	}
	return "IN"
}

// notIn is in's negation.
func (s *Store) notIn() string {
	if s.cluster != "" {
		return "GLOBAL NOT IN"
	}
	return "NOT IN"
}
