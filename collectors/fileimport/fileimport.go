// Package fileimport is the `import` source kind: CSV or JSONL exports from
// review platforms dropped into a directory (or fetched there by another
// job), read on the source's schedule with a configured column mapping.
// A file is read again only when its size or modification time changed;
// ids make re-reading harmless.
package fileimport

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/earshot/earshot/collectors"
	"github.com/earshot/earshot/config"
	"github.com/earshot/earshot/importer"
)

// Options of an import source.
type Options struct {
	Path    string            `yaml:"path"`    // a file or a glob, e.g. exports/*.csv
	Format  string            `yaml:"format"`  // csv or jsonl; default from each file's extension
	Columns map[string]string `yaml:"columns"` // mention field -> the file's column name
}

// Validate checks the options at config load.
func (o *Options) Validate() []config.FieldError {
	var errs []config.FieldError
	if o.Path == "" {
		errs = append(errs, config.FieldError{Field: "path", Msg: "required: a file or glob"})
	} else if _, err := filepath.Match(o.Path, ""); err != nil {
		errs = append(errs, config.FieldError{Field: "path", Msg: fmt.Sprintf("bad glob: %v", err)})
	}
	if o.Format != "" && o.Format != "csv" && o.Format != "jsonl" {
		errs = append(errs, config.FieldError{Field: "format", Msg: "csv or jsonl"})
	}
	fields := make([]string, 0, len(o.Columns))
	for f := range o.Columns {
		fields = append(fields, f)
	}
	sort.Strings(fields)
	for _, f := range fields {
		if !importer.IsField(f) {
			errs = append(errs, config.FieldError{Field: "columns." + f, Msg: "not a mention field (id, text, rating, author, published_at, ...)"})
		}
	}
	return errs
}

// Kind registers the import source kind.
func Kind() collectors.Kind {
	return collectors.KindOf("import", func(env collectors.Env, o *Options) (collectors.Collector, error) {
		return &Collector{o: *o, env: env}, nil
	})
}

// Collector reads the files.
type Collector struct {
	o   Options
	env collectors.Env
}

type fileState struct {
	Size    int64 `json:"size"`
	ModTime int64 `json:"mtime"`
}

// Collect reads new and changed files. The cursor is JSON {path: state}.
func (c *Collector) Collect(ctx context.Context, cursor string, sink collectors.Sink) (string, error) {
	states := map[string]fileState{}
	if cursor != "" {
		if err := json.Unmarshal([]byte(cursor), &states); err != nil {
			sink.AddError(fmt.Errorf("cursor unreadable, reading all files: %w", err))
			states = map[string]fileState{}
		}
	}
	paths, err := filepath.Glob(c.o.Path)
	if err != nil {
		return cursor, fmt.Errorf("import: %w", err)
	}
	if len(paths) == 0 {
		return cursor, nil // nothing dropped yet
	}
	sort.Strings(paths)
	for _, p := range paths {
		info, err := os.Stat(p)
		if err != nil || info.IsDir() {
			continue
		}
		st := fileState{Size: info.Size(), ModTime: info.ModTime().UnixNano()}
		if states[p] == st {
			continue
		}
		if err := c.read(ctx, p, sink); err != nil {
			if ctx.Err() != nil {
				return cursor, ctx.Err()
			}
			sink.AddError(fmt.Errorf("[file=%s]: %w", p, err))
			continue // not recorded: tried again next pass
		}
		states[p] = st
	}
	b, _ := json.Marshal(states)
	return string(b), nil
}

func (c *Collector) read(ctx context.Context, path string, sink collectors.Sink) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	format := importer.Format(c.o.Format)
	if format == "" {
		if format, err = importer.DetectFormat(path); err != nil {
			return err
		}
	}
	def := importer.Defaults{Source: c.env.Source.Name, Brand: c.env.Source.Brand, Location: c.env.Source.Location,
		Columns: c.o.Columns, IDPrefix: "import:" + c.env.Source.Name}
	// Decoded and normalised on every core; the sink gets rows in file order.
	return importer.ReadParallel(ctx, f, format, def, importer.ParallelOptions{}, func(ch *importer.Chunk) error {
		for _, e := range ch.Bad {
			sink.AddError(fmt.Errorf("[file=%s] %w", path, e))
		}
		for i := range ch.Mentions {
			if err := sink.Add(ctx, ch.Mentions[i]); err != nil {
				return err
			}
		}
		return nil
	})
}

// Bulk tells the pipeline that a pass may bring whole exports (millions of
// rows): it stores them in large blocks rather than small batches.
func (c *Collector) Bulk() bool { return true }
