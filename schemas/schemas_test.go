package schemas

import (
	"reflect"
	"strings"
	"testing"
	"testing/fstest"
)

func TestSplit(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []string
	}{
		{"one", "SELECT 1", []string{"SELECT 1"}},
		{"two with comments", "-- head; not a split\nSELECT 1;\n/* x; y */ SELECT 2;\n", []string{"SELECT 1", "SELECT 2"}},
		{"semicolon in string", "SELECT 'a;b'; SELECT \"c;d\"", []string{"SELECT 'a;b'", "SELECT \"c;d\""}},
		{"escaped quote", `SELECT 'it\'s;'; SELECT 3`, []string{`SELECT 'it\'s;'`, "SELECT 3"}},
		{"empty", " ;\n-- only a comment\n;", nil},
		{"unterminated string", "SELECT 'abc", []string{"SELECT 'abc"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Split(tt.in); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Split(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestMigrationsEmbedded(t *testing.T) {
	ms, err := Migrations()
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) < 4 {
		t.Fatalf("got %d migrations, want at least 4", len(ms))
	}
	for i, m := range ms {
		if i > 0 && m.Version <= ms[i-1].Version {
			t.Errorf("%s: versions not increasing", m.Name)
		}
		for _, s := range m.Statements {
			// DESIGN.md: no TTL, no GROUP BY 1, no DateTime64/Map/JSON on 18.16.
			for _, bad := range []string{" TTL ", "GROUP BY 1", "DateTime64", "Map(", "JSON", "LowCardinality"} {
				if strings.Contains(s, bad) {
					t.Errorf("%s: statement uses %q, which ClickHouse 18.16 lacks", m.Name, bad)
				}
			}
		}
	}
}

func TestLoadRejectsBadNames(t *testing.T) {
	tests := map[string]fstest.MapFS{
		"no number":  {"m/abc.sql": {Data: []byte("SELECT 1")}},
		"duplicate":  {"m/0001_a.sql": {Data: []byte("SELECT 1")}, "m/01_b.sql": {Data: []byte("SELECT 1")}},
		"empty file": {"m/0001_a.sql": {Data: []byte("-- nothing\n")}},
	}
	for name, fsys := range tests {
		t.Run(name, func(t *testing.T) {
			if _, err := Load(fsys, "m"); err == nil {
				t.Error("Load succeeded, want an error")
			}
		})
	}
}
