package main

import (
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/earshot/earshot/internal/benchdata"
	"github.com/earshot/earshot/mention"
	"github.com/earshot/earshot/storage"
)

// manifest records what the cached stores were built from; a difference
// means rebuild.
type manifest struct {
	Generator     string  `json:"generator"`
	Seed          int64   `json:"seed"`
	Small         int     `json:"small"`
	Large         int     `json:"large"`
	NegativeShare float64 `json:"negative_share"`
	BuildSeconds  float64 `json:"build_seconds"`
	Complete      bool    `json:"complete"`
}

func (m manifest) same(o manifest) bool {
	return m.Generator == o.Generator && m.Seed == o.Seed && m.Small == o.Small && m.Large == o.Large &&
		m.NegativeShare == o.NegativeShare && m.Complete && o.Complete
}

func readManifest(dir string) (manifest, bool) {
	b, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		return manifest{}, false
	}
	var m manifest
	if json.Unmarshal(b, &m) != nil {
		return manifest{}, false
	}
	return m, true
}

func writeManifest(dir string, m manifest) error {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	tmp := filepath.Join(dir, "manifest.json.tmp")
	if err := os.WriteFile(tmp, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("manifest: %w", err)
	}
	return os.Rename(tmp, filepath.Join(dir, "manifest.json"))
}

// storeSpan returns the published_at range of a store of n mentions: every
// store ends on the same day and has the same density as the large one, so
// the small store is the recent tail of the same business and the two
// differ only in how much history they hold (issue 16's question).
func storeSpan(n, large int) (time.Time, time.Time) {
	end := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	full := end.Sub(end.AddDate(-2, 0, 0))
	return end.Add(-time.Duration(float64(full) * float64(n) / float64(large))), end
}

type negRow struct {
	id, caseID, brand, location, severity string
	at                                    time.Time
}

// buildStore fills db with o's pre-scored mentions through
// storage.Store.InsertMentions (so the materialized views fill the queue and
// trend tables as they would in production), spreads case_queue over the
// mentions' own times, and writes each case's history to case_events.
func buildStore(ctx context.Context, e *env, db string, o benchdata.Options) (int, error) {
	if err := e.dropDB(ctx, db); err != nil {
		return 0, err
	}
	if err := e.migrate(ctx, db); err != nil {
		return 0, fmt.Errorf("build %s: %w", db, err)
	}
	st, err := storage.Open(ctx, e.srv.DSN(db), nil)
	if err != nil {
		return 0, fmt.Errorf("build %s: %w", db, err)
	}
	defer st.Close()
	const block = 100000
	blocks := make(chan []mention.Mention, 1)
	errc := make(chan error, 1)
	go func() {
		// Inserts overlap with generating the next block.
		var err error
		for b := range blocks {
			if err == nil {
				err = st.InsertMentions(ctx, b)
			}
		}
		errc <- err
	}()
	var negs []negRow
	cur := make([]mention.Mention, 0, block)
	done := 0
	gerr := benchdata.Mentions(o, func(m *mention.Mention) error {
		if m.Negative {
			negs = append(negs, negRow{m.ID, "case:" + m.StoryID, m.Brand, m.Location, m.Severity, m.CollectedAt})
		}
		cur = append(cur, *m)
		if len(cur) == block {
			select {
			case blocks <- cur:
			case err := <-errc:
				return err
			}
			cur = make([]mention.Mention, 0, block)
			if done += block; done%(1000000) == 0 {
				e.logf("  %s: %d mentions generated", db, done)
			}
		}
		return ctx.Err()
	})
	if gerr == nil && len(cur) > 0 {
		blocks <- cur
	}
	close(blocks)
	if err := <-errc; err != nil {
		return 0, fmt.Errorf("build %s: insert: %w", db, err)
	}
	if gerr != nil {
		return 0, fmt.Errorf("build %s: %w", db, gerr)
	}
	conn := st.Conn()
	if err := respreadQueue(ctx, conn); err != nil {
		return 0, fmt.Errorf("build %s: %w", db, err)
	}
	cases, err := writeCases(ctx, st, negs)
	if err != nil {
		return 0, fmt.Errorf("build %s: %w", db, err)
	}
	return cases, nil
}

// respreadQueue moves case_queue's rows, which the view stamped with the
// build time, to their mentions' collection times: in a store that grew
// over two years, the dispatcher's window holds days of cases, not all of
// them. Columns are read from system.columns, so columns later migrations
// add are carried over as the view filled them.
func respreadQueue(ctx context.Context, conn driver.Conn) error {
	rows, err := conn.Query(ctx, "SELECT name FROM system.columns WHERE database = currentDatabase() AND table = 'case_queue'")
	if err != nil {
		return fmt.Errorf("case_queue columns: %w", err)
	}
	var cols, sel []string
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			rows.Close()
			return fmt.Errorf("case_queue columns: %w", err)
		}
		cols = append(cols, c)
		if c == "opened_at" {
			sel = append(sel, "m_at")
		} else {
			sel = append(sel, c)
		}
	}
	rows.Close()
	list := strings.Join(cols, ", ")
	steps := []string{
		"DROP TABLE IF EXISTS bench_case_queue",
		"CREATE TABLE bench_case_queue AS case_queue",
		fmt.Sprintf(`INSERT INTO bench_case_queue (%s) SELECT %s FROM case_queue
ANY LEFT JOIN (SELECT id AS mention_id, collected_at AS m_at FROM mentions WHERE negative = 1) USING mention_id`, list, strings.Join(sel, ", ")),
	}
	for _, q := range steps {
		if err := conn.Exec(ctx, q); err != nil {
			return fmt.Errorf("case_queue: %s: %w", q, err)
		}
	}
	rows, err = conn.Query(ctx, "SELECT DISTINCT partition FROM system.parts WHERE database = currentDatabase() AND table = 'case_queue' AND active")
	if err != nil {
		return fmt.Errorf("case_queue partitions: %w", err)
	}
	var parts []string
	for rows.Next() {
		var p string
		if err := rows.Scan(&p); err != nil {
			rows.Close()
			return fmt.Errorf("case_queue partitions: %w", err)
		}
		parts = append(parts, p)
	}
	rows.Close()
	for _, p := range parts {
		if err := conn.Exec(ctx, "ALTER TABLE case_queue DROP PARTITION "+p); err != nil {
			return fmt.Errorf("case_queue: drop partition %s: %w", p, err)
		}
	}
	for _, q := range []string{
		fmt.Sprintf("INSERT INTO case_queue (%s) SELECT %s FROM bench_case_queue", list, list),
		"DROP TABLE bench_case_queue",
	} {
		if err := conn.Exec(ctx, q); err != nil {
			return fmt.Errorf("case_queue: %s: %w", q, err)
		}
	}
	return nil
}

var staff = []string{"ana.horvat", "lilit.s", "priya.k", "jose.r", "front.office", "night.manager"}

// writeCases records, per case, what the dispatcher and staff would have
// written: opened, queued and routed to the outbox, notified; then 97%
// acknowledged and resolved, the rest still open. Event ids follow the
// alerts package's, so the dispatcher recognises them.
func writeCases(ctx context.Context, st *storage.Store, negs []negRow) (int, error) {
	seen := map[string]bool{}
	var evs []storage.CaseEvent
	flush := func() error {
		if err := st.AppendCaseEvents(ctx, evs); err != nil {
			return fmt.Errorf("case events: %w", err)
		}
		evs = evs[:0]
		return nil
	}
	for _, n := range negs {
		if seen[n.caseID] {
			continue
		}
		seen[n.caseID] = true
		h := fnv.New64a()
		h.Write([]byte(n.caseID))
		x := h.Sum64()
		base := storage.CaseEvent{CaseID: n.caseID, MentionID: n.id, Brand: n.brand, Location: n.location, Severity: n.severity,
			State: "open", Actor: "earshot"}
		add := func(id, event, state string, at time.Time, f func(*storage.CaseEvent)) {
			ev := base
			ev.EventID, ev.Event, ev.State, ev.At = id, event, state, at
			if f != nil {
				f(&ev)
			}
			evs = append(evs, ev)
		}
		at := n.at.Add(5 * time.Second)
		add(n.caseID+":opened", "opened", "open", at, nil)
		add(n.caseID+":queued:outbox", "queued", "open", at, func(e *storage.CaseEvent) { e.Receiver, e.Note = "outbox", n.location })
		add(n.caseID+":routed", "routed", "open", at.Add(time.Second), func(e *storage.CaseEvent) { e.Note = "outbox" })
		add(n.caseID+":notified:outbox:0", "notified", "open", at.Add(35*time.Second), func(e *storage.CaseEvent) { e.Receiver = "outbox" })
		if x%100 >= 3 {
			who := staff[x/100%uint64(len(staff))]
			ack := at.Add(time.Duration(600+x/1000%21000) * time.Second)
			add(n.caseID+":acknowledged", "acknowledged", "acknowledged", ack, func(e *storage.CaseEvent) { e.Actor = who })
			res := ack.Add(time.Duration(3600+x/7%170000) * time.Second)
			add(n.caseID+":resolved", "resolved", "resolved", res, func(e *storage.CaseEvent) {
				e.Actor, e.Outcome = who, []string{"replied_publicly", "contacted_privately", "compensated", "no_action"}[x/13%4]
			})
		}
		if len(evs) >= 100000 {
			if err := flush(); err != nil {
				return 0, err
			}
		}
	}
	if err := flush(); err != nil {
		return 0, err
	}
	return len(seen), nil
}

// cloneDB makes dst a copy of src that shares its data files: migrate dst,
// then REPLACE PARTITION ... FROM (hard links, instant) for every MergeTree
// table. The collection and daemon figures run on the copy, so the cached
// store stays as built and every run starts from the same state.
func cloneDB(ctx context.Context, e *env, src, dst string) error {
	if err := e.dropDB(ctx, dst); err != nil {
		return err
	}
	if err := e.migrate(ctx, dst); err != nil {
		return fmt.Errorf("clone %s: %w", dst, err)
	}
	st, err := storage.Open(ctx, e.srv.DSN(dst), nil)
	if err != nil {
		return fmt.Errorf("clone %s: %w", dst, err)
	}
	defer st.Close()
	conn := st.Conn()
	rows, err := conn.Query(ctx, `SELECT DISTINCT table, partition_id FROM system.parts
WHERE database = ? AND active AND table != 'schema_migrations' AND table NOT LIKE '.inner%'`, src)
	if err != nil {
		return fmt.Errorf("clone %s: parts: %w", dst, err)
	}
	type tp struct{ table, id string }
	var parts []tp
	for rows.Next() {
		var p tp
		if err := rows.Scan(&p.table, &p.id); err != nil {
			rows.Close()
			return fmt.Errorf("clone %s: parts: %w", dst, err)
		}
		parts = append(parts, p)
	}
	rows.Close()
	for _, p := range parts {
		q := fmt.Sprintf("ALTER TABLE %s.%s REPLACE PARTITION ID '%s' FROM %s.%s", dst, p.table, p.id, src, p.table)
		if err := conn.Exec(ctx, q); err != nil {
			return fmt.Errorf("clone %s: %s: %w", dst, q, err)
		}
	}
	return nil
}
