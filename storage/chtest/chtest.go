// Package chtest gives integration tests a real clickhouse-server: one per
// package run (started lazily, stopped by Main), one fresh database per test.
//
//	func TestMain(m *testing.M) { os.Exit(chtest.Main(m)) }
//	func TestX(t *testing.T) { db := chtest.New(t); ... db.DSN ... }
//
// Without the clickhouse-server binary the tests skip with a clear message,
// except under CI=true, where that is a failure.
package chtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/earshot/earshot/storage/chlocal"
)

// The harness is per test binary by nature (TestMain owns it), so this is
// the one place package state is the right shape.
var harness struct {
	once sync.Once
	dir  string
	srv  *chlocal.Server
	err  error
}

// Main runs the tests and stops the server afterwards, if one was started.
func Main(m *testing.M) int {
	code := m.Run()
	if harness.srv != nil {
		if err := harness.srv.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "chtest:", err)
		}
	}
	if harness.dir != "" {
		os.RemoveAll(harness.dir)
	}
	return code
}

// Server returns the package's shared server, starting it on first use.
func Server(t testing.TB) *chlocal.Server {
	t.Helper()
	harness.once.Do(func() {
		harness.dir, harness.err = os.MkdirTemp("", "earshot-ch-")
		if harness.err != nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
		defer cancel()
		harness.srv, harness.err = chlocal.Start(ctx, chlocal.Options{Dir: harness.dir})
	})
	if harness.err != nil {
		if errors.Is(harness.err, chlocal.ErrNoBinary) && os.Getenv("CI") != "true" {
			t.Skipf("skipping ClickHouse integration test: %v", harness.err)
		}
		t.Fatalf("clickhouse test server: %v", harness.err)
	}
	return harness.srv
}

// DB is a test's own database on the shared server.
type DB struct {
	Name string
	DSN  string
	Conn driver.Conn
	Srv  *chlocal.Server
}

var unsafe = regexp.MustCompile(`[^a-zA-Z0-9_]+`)

// New creates an empty database for t and drops it when t ends.
func New(t testing.TB) *DB {
	t.Helper()
	srv := Server(t)
	suffix := make([]byte, 4)
	_, _ = rand.Read(suffix)
	name := strings.ToLower(unsafe.ReplaceAllString(t.Name(), "_"))
	if len(name) > 40 {
		name = name[:40]
	}
	name = "t_" + name + "_" + hex.EncodeToString(suffix)

	conn, err := clickhouse.Open(&clickhouse.Options{Addr: []string{srv.Addr()}, DialTimeout: 5 * time.Second})
	if err != nil {
		t.Fatalf("chtest: open: %v", err)
	}
	ctx := context.Background()
	if err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("chtest: create database: %v", err)
	}
	t.Cleanup(func() {
		// The server may have been killed by a fault test; dropping is best effort.
		_ = conn.Exec(context.Background(), "DROP DATABASE IF EXISTS "+name)
		conn.Close()
	})
	dbConn, err := clickhouse.Open(&clickhouse.Options{Addr: []string{srv.Addr()}, Auth: clickhouse.Auth{Database: name}, DialTimeout: 5 * time.Second})
	if err != nil {
		t.Fatalf("chtest: open %s: %v", name, err)
	}
	t.Cleanup(func() { dbConn.Close() })
	return &DB{Name: name, DSN: srv.DSN(name), Conn: dbConn, Srv: srv}
}

// Count runs a `SELECT count() ...` query and returns the number.
func (d *DB) Count(t testing.TB, query string, args ...any) uint64 {
	t.Helper()
	var n uint64
	if err := d.Conn.QueryRow(context.Background(), query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}
