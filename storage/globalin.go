package storage

// in is the operator of a subquery filter (x IN (SELECT ...)). On a
// cluster it is GLOBAL IN: the subquery runs once, on the node Earshot
// talks to, over the Distributed tables, and its set goes to the shards.
// A plain IN relies on distributed_product_mode = global, which 18.16
// ignores on a cluster of one shard (1 x N replicas): it sends the
// subquery to the shard as written, where its table is looked up in the
// database `default`. On one server it
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
