package importer

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"runtime"
	"sync"
	"unicode"

	"github.com/earshot/earshot/mention"
)

// Chunk is a run of consecutive rows of one file, decoded.
type Chunk struct {
	Seq      int               // 0, 1, 2... in file order
	Mentions []mention.Mention // the good rows, in file order
	Bad      []RowError        // the bad rows, in file order
	// Start and End are the chunk's byte range in the input (JSONL only;
	// -1 for CSV): reading that range again gives the same rows, so a bulk
	// load need not keep rows in memory to be able to spool them later.
	Start, End int64
}

// ParallelOptions tune ReadParallel.
type ParallelOptions struct {
	Workers   int // decoding goroutines; default GOMAXPROCS
	ChunkRows int // lines per chunk; default 2000
	// Process, when set, runs on each chunk in its worker after decoding
	// (scoring, say), so it too uses every core.
	Process func(ctx context.Context, c *Chunk)
}

// ReadParallel is Read for bulk loads. One goroutine reads lines into
// chunks; Workers goroutines decode and normalise them (and run Process);
// emit receives the chunks one at a time, in file order, on the calling
// goroutine. At most a few chunks per worker are in flight, so memory stays
// bounded whatever the file's size. CSV records are parsed by the reading
// goroutine (a quoted field may span lines); Process still runs in the
// workers. It returns an error only when reading fails or emit fails.
func ReadParallel(ctx context.Context, r io.Reader, f Format, def Defaults, opt ParallelOptions, emit func(*Chunk) error) error {
	if f != CSV && f != JSONL {
		return fmt.Errorf("unknown format %q", f)
	}
	def = def.withDefaults()
	if opt.Workers <= 0 {
		opt.Workers = runtime.GOMAXPROCS(0)
	}
	if opt.ChunkRows <= 0 {
		opt.ChunkRows = 2000
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	// tokens bound the chunks between the reader and emit: a slow chunk
	// holds back emit, and with it the reader, not memory.
	tokens := make(chan struct{}, 2*opt.Workers+2)
	work := make(chan *rawChunk, opt.Workers)
	done := make(chan *Chunk, opt.Workers)
	free := make(chan *rawChunk, cap(tokens)) // raw buffers for reuse
	readErr := make(chan error, 1)

	go func() {
		defer close(work)
		if f == CSV {
			readErr <- readCSVChunks(ctx, r, def, opt.ChunkRows, tokens, work)
		} else {
			readErr <- readJSONLChunks(ctx, r, opt.ChunkRows, tokens, free, work)
		}
	}()
	var wg sync.WaitGroup
	for range opt.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d := newLineDecoder(def)
			for rc := range work {
				c := rc.decoded
				if c != nil {
					c.Start, c.End = -1, -1
				} else {
					c = d.decodeChunk(rc)
					select {
					case free <- rc:
					default:
					}
				}
				if opt.Process != nil && ctx.Err() == nil {
					opt.Process(ctx, c)
				}
				select {
				case done <- c:
				case <-ctx.Done():
				}
			}
		}()
	}
	go func() { wg.Wait(); close(done) }()

	// Put the chunks back in order.
	pending := map[int]*Chunk{}
	next := 0
	var emitErr error
	for c := range done {
		if emitErr != nil {
			continue // draining after a failed emit
		}
		pending[c.Seq] = c
		for c := pending[next]; c != nil; c = pending[next] {
			delete(pending, next)
			next++
			if emitErr = emit(c); emitErr != nil {
				cancel() // stop the reader and the workers; drain what is left
				break
			}
			<-tokens
		}
	}
	if emitErr != nil {
		return emitErr
	}
	if err := <-readErr; err != nil {
		return err
	}
	if len(pending) > 0 {
		// Only after a cancel: a chunk the workers dropped.
		return ctx.Err()
	}
	return nil
}

// rawChunk is lines read but not decoded: their bytes back to back.
type rawChunk struct {
	seq        int
	start, end int64
	data       []byte
	lines      []lineRef
	decoded    *Chunk // CSV: parsed by the reader
}

type lineRef struct {
	no         int
	start, end int // in data; start < 0: the line was too long
}

func readJSONLChunks(ctx context.Context, r io.Reader, rows int, tokens chan struct{}, free, work chan *rawChunk) error {
	br := bufio.NewReaderSize(r, 256<<10)
	line := 0
	var pos int64
	for seq := 0; ; seq++ {
		select {
		case tokens <- struct{}{}:
		case <-ctx.Done():
			return ctx.Err()
		}
		var rc *rawChunk
		select {
		case rc = <-free:
			rc.data, rc.lines = rc.data[:0], rc.lines[:0]
		default:
			rc = &rawChunk{}
		}
		rc.seq, rc.start = seq, pos
		var err error
		for len(rc.lines) < rows && err == nil {
			line++
			start := len(rc.data)
			var b []byte
			var n int
			var tooLong bool
			b, n, tooLong, err = readLine(br, rc.data, MaxLine)
			pos += int64(n)
			// bytes.TrimSpace, keeping where the line starts.
			seg := b[start:]
			lead := bytes.TrimLeftFunc(seg, unicode.IsSpace)
			off := start + len(seg) - len(lead)
			switch t := bytes.TrimRightFunc(lead, unicode.IsSpace); {
			case tooLong:
				rc.data = b[:start]
				rc.lines = append(rc.lines, lineRef{no: line, start: -1})
			case len(t) == 0:
				rc.data = b[:start] // blank: not a row
			default:
				rc.data = b
				rc.lines = append(rc.lines, lineRef{no: line, start: off, end: off + len(t)})
			}
		}
		if err != nil && err != io.EOF {
			return fmt.Errorf("read line %d: %w", line, err)
		}
		rc.end = pos
		select {
		case work <- rc:
		case <-ctx.Done():
			return ctx.Err()
		}
		if err == io.EOF {
			return nil
		}
	}
}

func (d *lineDecoder) decodeChunk(rc *rawChunk) *Chunk {
	c := &Chunk{Seq: rc.seq, Mentions: make([]mention.Mention, 0, len(rc.lines)), Start: rc.start, End: rc.end}
	for _, l := range rc.lines {
		if l.start < 0 {
			c.Bad = append(c.Bad, RowError{Line: l.no, Err: fmt.Errorf("line longer than %d bytes", MaxLine)})
			continue
		}
		m, err := d.decode(rc.data[l.start:l.end])
		if err != nil {
			c.Bad = append(c.Bad, RowError{Line: l.no, Err: err})
			continue
		}
		c.Mentions = append(c.Mentions, m)
	}
	return c
}

func readCSVChunks(ctx context.Context, r io.Reader, def Defaults, rows int, tokens chan struct{}, work chan *rawChunk) error {
	seq := 0
	cur := &Chunk{}
	n := 0
	send := func() error {
		select {
		case tokens <- struct{}{}:
		case <-ctx.Done():
			return ctx.Err()
		}
		select {
		case work <- &rawChunk{seq: seq, decoded: cur, start: -1, end: -1}:
		case <-ctx.Done():
			return ctx.Err()
		}
		seq++
		cur, n = &Chunk{Seq: seq}, 0
		return nil
	}
	err := Read(ctx, r, CSV, def,
		func(m mention.Mention) error {
			cur.Mentions = append(cur.Mentions, m)
			if n++; n >= rows {
				return send()
			}
			return nil
		},
		func(e RowError) {
			cur.Bad = append(cur.Bad, e)
			n++
		})
	if err != nil {
		return err
	}
	if len(cur.Mentions) > 0 || len(cur.Bad) > 0 {
		return send()
	}
	return nil
}
