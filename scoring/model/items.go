package model

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// ReadItems reads labelled JSONL lines ({text, label[, id, lang, rating,
// rating_max]}) from files, directories (their *.jsonl) or globs.
func ReadItems(paths ...string) ([]Item, []string, error) {
	var files []string
	for _, p := range paths {
		pattern := p
		if st, err := os.Stat(p); err == nil && st.IsDir() {
			pattern = filepath.Join(p, "*.jsonl")
		}
		fs, err := filepath.Glob(pattern)
		if err != nil {
			return nil, nil, fmt.Errorf("training data %s: %w", p, err)
		}
		if len(fs) == 0 {
			return nil, nil, fmt.Errorf("training data %s: %w", p, os.ErrNotExist)
		}
		files = append(files, fs...)
	}
	var out []Item
	for _, f := range files {
		items, err := readFile(f)
		if err != nil {
			return nil, nil, err
		}
		out = append(out, items...)
	}
	return out, files, nil
}

func readFile(path string) ([]Item, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("training data: %w", err)
	}
	defer fh.Close()
	var out []Item
	sc := bufio.NewScanner(fh)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	line := 0
	for sc.Scan() {
		line++
		if strings.TrimSpace(sc.Text()) == "" {
			continue
		}
		var it Item
		if err := json.Unmarshal(sc.Bytes(), &it); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, line, err)
		}
		if ClassIndex(it.Label) < 0 {
			return nil, fmt.Errorf("%s:%d: label %q: want negative, neutral or positive", path, line, it.Label)
		}
		out = append(out, it)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return out, nil
}

// Split divides items deterministically by a hash of their id (text when
// there is none): about share of them are held out.
func Split(items []Item, share float64) (train, held []Item) {
	for _, it := range items {
		key := it.ID
		if key == "" {
			key = it.Text
		}
		if float64(hashID("split:"+key)%1000) < share*1000 {
			held = append(held, it)
		} else {
			train = append(train, it)
		}
	}
	return train, held
}

// Fold returns the items outside and inside the k-th of n deterministic
// parts (by id, as Split): n folds hold each item out exactly once. With
// n < 2 or k outside 0..n-1 nothing is held out.
func Fold(items []Item, n, k int) (train, held []Item) {
	if n < 2 || k < 0 || k >= n {
		return items, nil
	}
	for _, it := range items {
		key := it.ID
		if key == "" {
			key = it.Text
		}
		if int(hashID("split:"+key)%uint64(n)) == k {
			held = append(held, it)
		} else {
			train = append(train, it)
		}
	}
	return train, held
}
