package mastodon

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/earshot/earshot/collectors"
	"github.com/earshot/earshot/collectors/httpx"
	"github.com/earshot/earshot/config"
	"github.com/earshot/earshot/internal/wait"
)

// StreamOptions of a mastodon-stream source: the poll options plus a token,
// which most instances require for their streaming API.
type StreamOptions struct {
	Instance    string        `yaml:"instance"`
	Hashtags    []string      `yaml:"hashtags"`
	Include     []string      `yaml:"include"`
	Exclude     []string      `yaml:"exclude"`
	MaxPages    int           `yaml:"max_pages"`
	AccessToken config.Secret `yaml:"access_token"`
}

func (o *StreamOptions) poll() *Options {
	return &Options{Instance: o.Instance, Hashtags: o.Hashtags, Include: o.Include, Exclude: o.Exclude, MaxPages: o.MaxPages, AccessToken: o.AccessToken}
}

// Validate checks the options at config load.
func (o *StreamOptions) Validate() []config.FieldError {
	errs := o.poll().Validate()
	if len(o.Hashtags) == 0 {
		errs = append(errs, config.FieldError{Field: "hashtags", Msg: "required: the streaming API follows hashtags"})
	}
	return errs
}

// StreamKind registers the mastodon-stream source kind: hashtag streams
// over server-sent events. Mastodon streams cannot resume, so every
// (re)connection first backfills by polling forward from the cursor.
func StreamKind() collectors.Kind {
	return collectors.KindOf("mastodon-stream", func(env collectors.Env, o *StreamOptions) (collectors.Collector, error) {
		env.Options = o.poll()
		c, err := Kind().New(env)
		if err != nil {
			return nil, err
		}
		return &Streaming{Collector: c.(*Collector), token: o.AccessToken.Reveal(), ua: env.HTTP.UserAgent,
			hc: &http.Client{Transport: streamTransport(env.HTTP.AllowPrivateNetworks)}, sleep: wait.Sleep}, nil
	})
}

// streamTransport checks the dialled address like every collector (no
// loopback, private or link-local unless allow_private_networks) and has
// no overall timeout: a stream stays open.
func streamTransport(allowPrivate bool) *http.Transport {
	t := httpx.Guard{AllowPrivate: allowPrivate}.Transport()
	t.ResponseHeaderTimeout = 30 * time.Second
	return t
}

// Streaming follows hashtag streams; its Collect is the poll collector's.
type Streaming struct {
	*Collector
	token string
	ua    string
	hc    *http.Client
	sleep func(context.Context, time.Duration) error
}

// Stream backfills, then follows each hashtag's stream until ctx ends,
// reconnecting (and backfilling again) with backoff and jitter.
func (s *Streaming) Stream(ctx context.Context, cursor string, sink collectors.Sink, checkpoint func(string)) error {
	var mu sync.Mutex
	state := collectors.KeyCursor(cursor, sink)
	commit := func(key, id string) {
		mu.Lock()
		defer mu.Unlock()
		if collectors.NewerID(id, state[key]) {
			state[key] = id
			b, _ := json.Marshal(state)
			checkpoint(string(b))
		}
	}
	backoff := time.Second
	for {
		// Backfill what was posted while disconnected.
		mu.Lock()
		b, _ := json.Marshal(state)
		mu.Unlock()
		next, err := s.Collector.Collect(ctx, string(b), sink)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err == nil && next != "" {
			var got map[string]string
			if json.Unmarshal([]byte(next), &got) == nil {
				for k, v := range got {
					commit(k, v)
				}
			}
		}
		began := time.Now()
		err = s.follow(ctx, sink, commit)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if time.Since(began) > time.Minute {
			backoff = time.Second
		}
		sink.AddError(fmt.Errorf("mastodon stream: %v; reconnecting in about %s", err, backoff))
		if err := s.sleep(ctx, backoff/2+time.Duration(rand.Int64N(int64(backoff)))); err != nil {
			return err
		}
		backoff = min(2*backoff, time.Minute)
	}
}

// follow streams every hashtag at once until one connection ends.
func (s *Streaming) follow(ctx context.Context, sink collectors.Sink, commit func(key, id string)) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errs := make(chan error, len(s.timelines))
	n := 0
	for _, tl := range s.timelines {
		if !tl.tag {
			continue
		}
		n++
		tag := strings.TrimPrefix(tl.key, "tag:")
		go func() { errs <- s.hashtag(ctx, tl, tag, sink, commit) }()
	}
	if n == 0 {
		return errors.New("no hashtags to stream")
	}
	err := <-errs
	cancel()
	for i := 1; i < n; i++ {
		<-errs
	}
	return err
}

func (s *Streaming) hashtag(ctx context.Context, tl timeline, tag string, sink collectors.Sink, commit func(key, id string)) error {
	u := strings.TrimRight(s.o.Instance, "/") + "/api/v1/streaming/hashtag?" + url.Values{"tag": {tag}}.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	req.Header.Set("User-Agent", s.ua)
	req.Header.Set("Accept", "text/event-stream")
	if s.token != "" {
		req.Header.Set("Authorization", "Bearer "+s.token)
	}
	resp, err := s.hc.Do(req)
	if err != nil {
		return fmt.Errorf("#%s: %w", tag, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("#%s: HTTP %d", tag, resp.StatusCode)
	}
	host := req.URL.Hostname()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	event, data := "", ""
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if event == "update" && data != "" {
				var st Status
				if err := json.Unmarshal([]byte(data), &st); err != nil {
					sink.AddError(fmt.Errorf("#%s: bad status: %w", tag, err))
				} else if m, ok := s.mention(st, tl, host); ok {
					if err := sink.Add(ctx, m); err != nil {
						return err
					}
					commit(tl.key, string(st.ID))
				}
			}
			event, data = "", ""
		case strings.HasPrefix(line, "event:"):
			event = strings.TrimSpace(line[len("event:"):])
		case strings.HasPrefix(line, "data:"):
			// Per the SSE format, several data lines make one value, joined by newlines.
			if data != "" {
				data += "\n"
			}
			data += strings.TrimPrefix(line[len("data:"):], " ")
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("#%s: %w", tag, err)
	}
	return fmt.Errorf("#%s: stream closed", tag)
}
