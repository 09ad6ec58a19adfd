package importer

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/earshot/earshot/mention"
)

// slowDecode is the general path alone: what every line got before the
// fast decoder.
func slowDecode(d *lineDecoder, t []byte) (mention.Mention, error) {
	var obj map[string]any
	dec := json.NewDecoder(bytes.NewReader(t))
	dec.UseNumber()
	if err := dec.Decode(&obj); err != nil {
		return mention.Mention{}, fmt.Errorf("invalid JSON: %v", err)
	} else if dec.More() {
		return mention.Mention{}, errors.New("invalid JSON: more than one value on the line")
	}
	m, err := record(obj).renamed(d.rename).mention(d.def)
	if err == nil && d.def.Validate != nil {
		err = d.def.Validate(m)
	}
	return m, err
}

var trickyLines = []string{
	`{"id":"a1","text":"plain"}`,
	`{"id":"a2","text":"esc \"q\" \\ \/ \b\f\n\r\t \u00e9 \ud83d\ude00 \u0000","title":"t"}`,
	`{"id":"a3","text":"lone \ud800 half"}`,
	`{"id":"a4","text":"caf` + "\xe9" + `"}`,
	`{"id":"a5","text":"ctl` + "\x01" + `"}`,
	`{"id":6,"text":"num id","rating":4.5,"rating_max":"5","likes":1e3,"negative":true}`,
	`{"id":"a7","review":"alias text","stars":"3,5","date":"2026-11-02"}`,
	`{"id":"a8","review":"alias","text":"exact wins"}`,
	`{"id":"a9","text":"exact first","body":"alias later"}`,
	`{"id":"a10","review":"two","body":"aliases"}`,
	`{"id":"a11","text":"dup","text":"keys"}`,
	`{"id":"a12","text":null,"review":"null is taken"}`,
	`{"id":"a13","text":"lists","aspects":["staff",1,null,["x"],{"y":2},"wait"],"signals":"legal|health","reasons":[]}`,
	`{"id":"a14","text":"obj","author":{"name":"x"}}`,
	`{"id":"a15","text":"list as string field","author":["x"]}`,
	`{"id":"a16","text":"unknown nested","meta":{"a":[1,2,{"b":"c\"d"}],"e":null},"z":[true,false]}`,
	`{"id":"a17","text":"trailing"} x`,
	`{"id":"a18","text":"two"}{"id":"x"}`,
	`{"id":"a19","text":"trailing comma",}`,
	`{"id":"a20","text":"bad num","rating":01}`,
	`{"id":"a21","text":"bad num","rating":-}`,
	`{"id":"a22","text":"nan","rating":"NaN"}`,
	`{"id":"a23","Text":"Capitalised key","Review Date":"2026-11-03"}`,
	`{"id":"a24","text":"  spaced  ","kind":"post","lang":"HR"}`,
	`{}`,
	`[]`,
	`"str"`,
	`{"id":"a28","text":"<p>html &amp; <script>x</script></p>","url":"https://x/?a=1&b=2"}`,
	`{"id":"a29","text":"` + strings.Repeat("long ", 20000) + `"}`,
	`{"id":"a30","text":"bad date","published_at":"yesterday"}`,
	`{"id":"a31","text":"neg count","likes":-1}`,
	`{"id":"a32","te\u0078t":"escaped key"}`,
	`{"id":"a33","text":"deep","meta":` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + `}`,
	`{"id":"a34","text":"ts","published_at":1793577600,"collected_at":"2026-11-23T10:00:00+02:00"}`,
	`{"id":"a35","text":"exp","rating":2E0,"sentiment":-0.5e-1,"severity":"high","scorer_version":"v1"}`,
	`  {"id":"a36","text":"inner space" , "rating" : 2 }  `,
	`{"id":"a37","title":"only title"}`,
	`{"id":"a38","text":"mapped","Stars Given":"2","Guest":"Ana"}`,
	`{"id":"a39","text":"mapped","Stars Given":"2","rating":"4"}`,
	`{"id":"a40","text":"mapped alias","Stars Given":"2","stars":"4"}`,
}

func TestFastDecodeMatchesGeneral(t *testing.T) {
	for _, cols := range []map[string]string{nil, {"rating": "Stars Given", "author": "Guest"}} {
		def := Defaults{Now: now, Brand: "Acme", IDPrefix: "p", Columns: cols}.withDefaults()
		d := newLineDecoder(def)
		fast := 0
		for i, l := range trickyLines {
			line := bytes.TrimSpace([]byte(l))
			got, gerr := d.decode(line)
			want, werr := slowDecode(d, line)
			d.row.reset()
			if !d.fast.decode(line, d.row) {
				continue // decode took the general path itself (which, for two aliases, picks either)
			}
			fast++
			if fmt.Sprint(gerr) != fmt.Sprint(werr) {
				t.Errorf("line %d (cols %v): err %v, want %v", i, cols, gerr, werr)
				continue
			}
			if gerr == nil && !reflect.DeepEqual(got, want) {
				t.Errorf("line %d (cols %v):\n got %+v\nwant %+v", i, cols, got, want)
			}
		}
		if fast < len(trickyLines)/2 {
			t.Errorf("fast path took only %d of %d lines", fast, len(trickyLines))
		}
	}
}

func FuzzFastDecode(f *testing.F) {
	for _, l := range trickyLines {
		f.Add([]byte(l))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			return
		}
		d := newLineDecoder(Defaults{Now: now}.withDefaults())
		if !d.fast.decode(line, d.row) {
			return // the general path alone
		}
		got, gerr := d.decode(line)
		want, werr := slowDecode(d, line)
		if fmt.Sprint(gerr) != fmt.Sprint(werr) || gerr == nil && !reflect.DeepEqual(got, want) {
			t.Errorf("%q: got %+v, %v; want %+v, %v", line, got, gerr, want, werr)
		}
	})
}

// TestReadParallelMatchesRead: same rows, same bad lines, same order, for
// both formats and chunk sizes that split the input anywhere.
func TestReadParallelMatchesRead(t *testing.T) {
	var big strings.Builder
	for i := 0; i < 3000; i++ {
		switch i % 7 {
		case 3:
			big.WriteString("{broken\n")
		case 5:
			big.WriteString("\n  \n")
		default:
			fmt.Fprintf(&big, `{"id":"r%d","text":"row %d","rating":%d}`+"\r\n", i, i, i%6)
		}
	}
	jsonl, _ := os.ReadFile("testdata/reviews.jsonl")
	csv, _ := os.ReadFile("testdata/export.csv")
	for _, tc := range []struct {
		f    Format
		data string
	}{{JSONL, big.String()}, {JSONL, string(jsonl)}, {CSV, string(csv)}} {
		def := Defaults{Now: now, Brand: "Acme"}
		var want []mention.Mention
		var wantBad []RowError
		if err := Read(context.Background(), strings.NewReader(tc.data), tc.f, def,
			func(m mention.Mention) error { want = append(want, m); return nil },
			func(e RowError) { wantBad = append(wantBad, e) }); err != nil {
			t.Fatal(err)
		}
		for _, rows := range []int{1, 7, 1000} {
			var got []mention.Mention
			var gotBad []RowError
			processed := 0
			err := ReadParallel(context.Background(), strings.NewReader(tc.data), tc.f, def,
				ParallelOptions{Workers: 3, ChunkRows: rows, Process: func(_ context.Context, c *Chunk) {
					for i := range c.Mentions {
						c.Mentions[i].Lang = "xx"
					}
				}},
				func(c *Chunk) error {
					processed += len(c.Mentions)
					got = append(got, c.Mentions...)
					gotBad = append(gotBad, c.Bad...)
					return nil
				})
			if err != nil {
				t.Fatal(err)
			}
			for i := range want {
				want[i].Lang = "xx"
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("%s rows %d: %d mentions differ from Read's %d", tc.f, rows, len(got), len(want))
			}
			if fmt.Sprint(gotBad) != fmt.Sprint(wantBad) {
				t.Errorf("%s rows %d: bad %v, want %v", tc.f, rows, gotBad, wantBad)
			}
		}
	}
}

func TestReadParallelEmitError(t *testing.T) {
	var in strings.Builder
	for i := 0; i < 10000; i++ {
		fmt.Fprintf(&in, `{"id":"r%d","text":"row"}`+"\n", i)
	}
	boom := errors.New("boom")
	calls := 0
	err := ReadParallel(context.Background(), strings.NewReader(in.String()), JSONL, Defaults{Now: now},
		ParallelOptions{Workers: 2, ChunkRows: 10}, func(*Chunk) error {
			if calls++; calls == 3 {
				return boom
			}
			return nil
		})
	if !errors.Is(err, boom) || calls != 3 {
		t.Errorf("err = %v after %d calls, want boom after 3", err, calls)
	}
}

func BenchmarkDecodeLine(b *testing.B) {
	line := []byte(`{"id":"gp:123456","source":"play","brand":"Sunrise Hotels","location":"Location 12","url":"https://reviews.example/r/123456","author":"guest 4242","title":"Our stay","text":"Waited forty minutes at the front desk, the staff ignored us and the room was not cleaned. Osoblje je bilo neljubazno, soba prljava, a doručak hladan. Čekali smo sat vremena na ključ. Nikad više ovdje! (visit 1)","rating":2,"rating_max":5,"lang":"en","published_at":"2025-03-04T10:00:00Z"}`)
	d := newLineDecoder(Defaults{Now: now}.withDefaults())
	b.Run("fast", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := d.decode(line); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("general", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := slowDecode(d, line); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func TestFieldPositions(t *testing.T) {
	for name, i := range map[string]int{"id": fID, "text": fText, "rating_max": fRatingMax, "published_at": fPublishedAt,
		"parent_id": fParentID, "app_version": fAppVersion, "negative": fNegative, "scorer_version": fScorerVersion} {
		if fields[i] != name {
			t.Errorf("position of %s is %d, which is %s in fields", name, i, fields[i])
		}
	}
	if fScorerVersion != len(fields)-1 {
		t.Errorf("%d positions for %d fields", fScorerVersion+1, len(fields))
	}
}

// TestReadParallelRanges: reading a chunk's byte range again gives the
// chunk's rows again, which is how a failed bulk insert is redone.
func TestReadParallelRanges(t *testing.T) {
	var in strings.Builder
	for i := 0; i < 500; i++ {
		if i%50 == 7 {
			in.WriteString("\n  \r\n")
		}
		fmt.Fprintf(&in, `{"id":"r%d","text":"row %d ž"}`+"\r\n", i, i)
	}
	in.WriteString(`{"id":"last","text":"no newline"}`)
	data := in.String()
	def := Defaults{Now: now}
	var chunks []*Chunk
	if err := ReadParallel(context.Background(), strings.NewReader(data), JSONL, def, ParallelOptions{Workers: 2, ChunkRows: 37},
		func(c *Chunk) error { chunks = append(chunks, c); return nil }); err != nil {
		t.Fatal(err)
	}
	if chunks[0].Start != 0 || chunks[len(chunks)-1].End != int64(len(data)) {
		t.Errorf("chunks cover %d..%d of %d bytes", chunks[0].Start, chunks[len(chunks)-1].End, len(data))
	}
	for i, c := range chunks {
		if i > 0 && c.Start != chunks[i-1].End {
			t.Errorf("chunk %d starts at %d, the previous ended at %d", i, c.Start, chunks[i-1].End)
		}
		var again []mention.Mention
		if err := ReadParallel(context.Background(), strings.NewReader(data[c.Start:c.End]), JSONL, def, ParallelOptions{},
			func(c *Chunk) error { again = append(again, c.Mentions...); return nil }); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(again, c.Mentions) {
			t.Errorf("chunk %d: range %d..%d reads %d rows again, want %d", i, c.Start, c.End, len(again), len(c.Mentions))
		}
	}
}
