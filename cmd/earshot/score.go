package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/earshot/earshot/config"
	"github.com/earshot/earshot/mention"
	"github.com/earshot/earshot/scoring"
	"github.com/earshot/earshot/scoring/model"
)

// scorer builds the text scorer from the config's scoring section (all
// languages and defaults without a config).
func (a *app) scorer(cfg *config.Config, hist scoring.History) (*scoring.Scorer, error) {
	return a.scorerWith(cfg, hist, "")
}

// scorerWith is scorer with the model file modelPath ("none": lexicons
// only; empty: the config's scoring.model, else the built-in model).
func (a *app) scorerWith(cfg *config.Config, hist scoring.History, modelPath string) (*scoring.Scorer, error) {
	opts := scoring.Options{Entities: true, History: hist}
	if cfg != nil {
		opts.Languages = cfg.Scoring.Languages
		opts.MinConfidence = cfg.Scoring.MinConfidence
		opts.Rules = cfg.Scoring.Rules
		if modelPath == "" {
			modelPath = cfg.Scoring.Model
		}
		for brand, path := range cfg.Scoring.Models {
			m, err := model.Load(path)
			if err != nil {
				return nil, fmt.Errorf("scoring.models.%s: %w", brand, err)
			}
			if opts.BrandModels == nil {
				opts.BrandModels = map[string]*model.Model{}
			}
			opts.BrandModels[brand] = m
		}
	}
	var err error
	switch modelPath {
	case "none":
		opts.BrandModels = nil
	case "":
		opts.Model, err = model.Default()
	default:
		opts.Model, err = model.Load(modelPath)
	}
	if err != nil {
		return nil, err
	}
	return scoring.New(opts)
}

// configScorer is the scorer of the config, when there is one (its
// languages, brand rules and models), else the default scorer; modelPath
// as for scorerWith.
func (a *app) configScorer(modelPath string) (*scoring.Scorer, error) {
	cfg, err := a.optionalConfig()
	if err != nil {
		return nil, err
	}
	return a.scorerWith(cfg, nil, modelPath)
}

func (a *app) scoreCmd() *cobra.Command {
	var lang, brand, modelPath string
	cmd := &cobra.Command{
		Use:   "score [TEXT...]",
		Short: "Score texts, or JSONL mentions on stdin: one JSON line out per input",
		Long: `Scores each TEXT argument, or with none each JSONL mention on stdin (at least
id and text; lang, rating, rating_max, brand optional), and writes one JSON line
per input: the mention fields it got plus sentiment, negative, severity, aspects,
signals, reasons and scorer_version. A bad input line is reported on stderr
with its line number and skipped; the exit code is then 1.

The lexicons are combined with a learned model (earshot train): --model FILE,
else the config's scoring.model, else the one built into the binary;
--model none scores with the lexicons alone.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := a.configScorer(modelPath)
			if err != nil {
				return err
			}
			out := bufio.NewWriterSize(a.stdout, 64<<10)
			defer out.Flush()
			enc := json.NewEncoder(out)
			enc.SetEscapeHTML(false)
			emit := func(m *mention.Mention) error {
				if m.Lang == "" && lang != "" {
					m.Lang = lang
				}
				if m.Brand == "" {
					m.Brand = brand
				}
				s.ScoreMention(m)
				return enc.Encode(m)
			}
			if len(args) > 0 {
				for i, t := range args {
					m := mention.Mention{ID: fmt.Sprintf("arg:%d", i+1), Text: strings.ToValidUTF8(t, "\uFFFD")}
					if err := emit(&m); err != nil {
						return err
					}
				}
				return nil
			}
			return scoreStream(cmd.InOrStdin(), out, a.stderr, s, lang, brand)
		},
	}
	cmd.Flags().StringVar(&lang, "lang", "", "language of inputs that carry none (default: detect)")
	cmd.Flags().StringVar(&brand, "brand", "", "brand of inputs that carry none (selects its scoring rules)")
	cmd.Flags().StringVar(&modelPath, "model", "", `model file from earshot train ("none": lexicons only; default: scoring.model, else built in)`)
	return cmd
}

func (a *app) evalCmd() *cobra.Command {
	var sources bool
	var modelPath string
	cmd := &cobra.Command{
		Use:   "eval PATH...",
		Short: "Score labelled JSONL sets (id, text, label) and print precision, recall and F1 of the negative class per language",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := a.configScorer(modelPath)
			if err != nil {
				return err
			}
			var items []scoring.Labelled
			for _, p := range args {
				it, err := scoring.ReadLabelled(p)
				if err != nil {
					if os.IsNotExist(err) {
						return usagef("eval: %v", err)
					}
					return err
				}
				items = append(items, it...)
			}
			rs, err := scoring.Evaluate(cmd.Context(), s, items)
			if err != nil {
				return err
			}
			scoring.WriteReport(a.stdout, rs, sources)
			return nil
		},
	}
	cmd.Flags().BoolVar(&sources, "sources", false, "also break each language down by source (the id prefix)")
	cmd.Flags().StringVar(&modelPath, "model", "", `model file ("none": lexicons only; default: scoring.model, else built in)`)
	return cmd
}

// scoreBatch is a run of stdin lines scored by one worker; batches are
// written in input order.
type scoreBatch struct {
	data  []byte // the lines, back to back
	ends  []int  // end offset in data of each line
	nums  []int  // its line number
	out   bytes.Buffer
	errs  []string
	bad   int
	err   error
	ready chan struct{}
}

// Batches amortise the channel hand-offs; a few per worker in flight keep
// the cores busy while the writer waits for the oldest.
const (
	scoreBatchLines = 256
	scoreBatchBytes = 1 << 20
)

// scoreStream scores JSONL mentions from in on every core (GOMAXPROCS) and
// writes them to out in input order; bad lines are reported to errw by
// line number and skipped.
func scoreStream(in io.Reader, out io.Writer, errw io.Writer, s *scoring.Scorer, lang, brand string) error {
	workers := max(1, runtime.GOMAXPROCS(0))
	jobs := make(chan *scoreBatch, workers)
	order := make(chan *scoreBatch, 2*workers)
	stop := make(chan struct{})
	var (
		readErr error
		lines   int
	)
	go func() {
		defer close(jobs)
		defer close(order)
		send := func(b *scoreBatch) bool {
			select {
			case order <- b:
			case <-stop:
				return false
			}
			select {
			case jobs <- b:
				return true
			case <-stop:
				return false
			}
		}
		sc := bufio.NewScanner(in)
		sc.Buffer(make([]byte, 64<<10), 16<<20)
		b := &scoreBatch{ready: make(chan struct{})}
		for sc.Scan() {
			lines++
			if len(bytes.TrimSpace(sc.Bytes())) == 0 {
				continue
			}
			b.data = append(b.data, sc.Bytes()...)
			b.ends = append(b.ends, len(b.data))
			b.nums = append(b.nums, lines)
			if len(b.ends) == scoreBatchLines || len(b.data) >= scoreBatchBytes {
				if !send(b) {
					return
				}
				b = &scoreBatch{ready: make(chan struct{})}
			}
		}
		if err := sc.Err(); err != nil {
			readErr = fmt.Errorf("score: stdin line %d: %w", lines+1, err)
		}
		if len(b.ends) > 0 {
			send(b)
		}
	}()
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range jobs {
				b.score(s, lang, brand)
				close(b.ready)
			}
		}()
	}
	err := func() error {
		bad := 0
		for b := range order {
			<-b.ready
			for _, e := range b.errs {
				fmt.Fprint(errw, e)
			}
			if b.err != nil {
				return b.err
			}
			if _, err := out.Write(b.out.Bytes()); err != nil {
				return fmt.Errorf("score: write: %w", err)
			}
			bad += b.bad
		}
		// order is closed: the reader is done with lines and readErr.
		if readErr != nil {
			return readErr
		}
		if bad > 0 {
			return fmt.Errorf("score: %d of %d lines skipped", bad, lines)
		}
		return nil
	}()
	close(stop)
	// The reader may be blocked on stdin; the workers finish their batch.
	wg.Wait()
	return err
}

func (b *scoreBatch) score(s *scoring.Scorer, lang, brand string) {
	enc := json.NewEncoder(&b.out)
	enc.SetEscapeHTML(false)
	start := 0
	for i, end := range b.ends {
		line := b.data[start:end]
		start = end
		var m mention.Mention
		err := json.Unmarshal(line, &m)
		if err == nil {
			valid := m // validate a copy: the output keeps the fields as given
			err = valid.Normalize(time.Now())
		}
		if err != nil {
			b.bad++
			b.errs = append(b.errs, fmt.Sprintf("stdin:%d: skipped: %v\n", b.nums[i], err))
			continue
		}
		if m.Lang == "" && lang != "" {
			m.Lang = lang
		}
		if m.Brand == "" {
			m.Brand = brand
		}
		s.ScoreMention(&m)
		if err := enc.Encode(&m); err != nil {
			b.err = fmt.Errorf("score: stdin line %d: %w", b.nums[i], err)
			return
		}
	}
}
