package collectortest

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/earshot/earshot/mention"
)

var update = flag.Bool("update", false, "rewrite golden files")

// Golden compares mentions with testdata/golden/NAME.jsonl, one JSON line
// each, with the collection time zeroed (it is the clock's, not the
// source's). `go test -update` rewrites the file.
func Golden(t *testing.T, name string, ms []mention.Mention) {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	for _, m := range ms {
		m.CollectedAt = time.Time{}
		if err := enc.Encode(&m); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join("testdata", "golden", name+".jsonl")
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update)", err)
	}
	if !bytes.Equal(buf.Bytes(), want) {
		t.Errorf("mentions differ from %s (go test -update rewrites it):\ngot:\n%s\nwant:\n%s", path, buf.String(), want)
	}
}
