// Package jetstream is the bluesky-stream source kind: Bluesky's Jetstream
// (a WebSocket of new records as JSON), filtered to posts with the brand's
// keywords, so a post can raise an alert seconds after it is written rather
// than at the next poll. It resumes from a cursor (time_us) after a restart
// or a dropped connection; ids equal the bluesky search kind's, so a post
// seen by both is stored once.
package jetstream

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/coder/websocket"

	"github.com/earshot/earshot/collectors"
	"github.com/earshot/earshot/collectors/httpx"
	"github.com/earshot/earshot/config"
	"github.com/earshot/earshot/internal/wait"
	"github.com/earshot/earshot/mention"
)

// Options of a bluesky-stream source.
type Options struct {
	URL     string   `yaml:"url"` // default wss://jetstream2.us-east.bsky.network/subscribe
	Include []string `yaml:"include"`
	Exclude []string `yaml:"exclude"`
	Langs   []string `yaml:"langs"` // keep only posts tagged with one of these
	// CatchUp bounds how long `earshot collect` replays from the cursor.
	CatchUp time.Duration `yaml:"catch_up"`
}

// Validate checks the options at config load.
func (o *Options) Validate() []config.FieldError {
	return collectors.CheckURL("url", o.URL, "ws", "wss")
}

// Kind registers the bluesky-stream source kind.
func Kind() collectors.Kind {
	return collectors.KindOf("bluesky-stream", func(env collectors.Env, o *Options) (collectors.Collector, error) {
		if o.URL == "" {
			o.URL = "wss://jetstream2.us-east.bsky.network/subscribe"
		}
		if o.CatchUp == 0 {
			o.CatchUp = 2 * time.Minute
		}
		m := collectors.NewMatcher(env.Brand, o.Include, o.Exclude)
		if len(m.Terms()) == 0 {
			return nil, fmt.Errorf("bluesky-stream %s: no keywords: the firehose must be filtered", env.Source.Name)
		}
		// The dialled address is checked like every collector's (no
		// loopback, private or link-local unless allow_private_networks).
		hc := &http.Client{Transport: httpx.Guard{AllowPrivate: env.HTTP.AllowPrivateNetworks}.Transport()}
		return &Stream{o: *o, match: m, ua: env.HTTP.UserAgent, hc: hc, now: time.Now, sleep: wait.Sleep}, nil
	})
}

// Stream reads Jetstream.
type Stream struct {
	o     Options
	match *collectors.Matcher
	ua    string
	hc    *http.Client
	now   func() time.Time
	sleep func(context.Context, time.Duration) error
}

// event is a Jetstream message; only post creations are used.
type event struct {
	DID    string `json:"did"`
	TimeUS int64  `json:"time_us"`
	Kind   string `json:"kind"`
	Commit *struct {
		Operation  string `json:"operation"`
		Collection string `json:"collection"`
		RKey       string `json:"rkey"`
		Record     struct {
			Text      string   `json:"text"`
			CreatedAt string   `json:"createdAt"`
			Langs     []string `json:"langs"`
			Reply     *struct {
				Parent struct {
					URI string `json:"uri"`
				} `json:"parent"`
			} `json:"reply"`
		} `json:"record"`
	} `json:"commit"`
}

// rewind replays a few seconds before the cursor on reconnect: Jetstream
// delivers at least once around a resume point, and ids absorb repeats.
const rewind = 5 * time.Second

// Collect catches up from the cursor to now (bounded by catch_up) and
// returns the new cursor. With no cursor it starts the clock now.
func (s *Stream) Collect(ctx context.Context, cursor string, sink collectors.Sink) (string, error) {
	start := s.now()
	if cursor == "" {
		return strconv.FormatInt(start.UnixMicro(), 10), nil
	}
	ctx, cancel := context.WithTimeout(ctx, s.o.CatchUp)
	defer cancel()
	last := cursor
	err := s.session(ctx, cursor, sink, func(c string, t int64) bool {
		last = c
		return t < start.UnixMicro() // stop once caught up
	})
	if errors.Is(err, errCaughtUp) || errors.Is(err, context.DeadlineExceeded) && ctx.Err() != nil {
		return last, nil
	}
	return last, err
}

var errCaughtUp = errors.New("caught up")

// Stream follows Jetstream until ctx ends, reconnecting with backoff and
// jitter and resuming from the last checkpoint.
func (s *Stream) Stream(ctx context.Context, cursor string, sink collectors.Sink, checkpoint func(string)) error {
	backoff := time.Second
	for {
		began := s.now()
		err := s.session(ctx, cursor, sink, func(c string, _ int64) bool {
			cursor = c
			checkpoint(c)
			return true
		})
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if s.now().Sub(began) > time.Minute {
			backoff = time.Second // the connection had been healthy
		}
		sink.AddError(fmt.Errorf("jetstream: %v; reconnecting in about %s", err, backoff))
		if err := s.sleep(ctx, backoff/2+time.Duration(rand.Int64N(int64(backoff)))); err != nil {
			return err
		}
		backoff = min(2*backoff, time.Minute)
	}
}

// session reads one connection. progress is called with each event's
// cursor after the event was handled; returning false ends the session.
func (s *Stream) session(ctx context.Context, cursor string, sink collectors.Sink, progress func(string, int64) bool) error {
	u, err := url.Parse(s.o.URL)
	if err != nil {
		return err
	}
	q := u.Query()
	q.Set("wantedCollections", "app.bsky.feed.post")
	if us, err := strconv.ParseInt(cursor, 10, 64); err == nil && us > 0 {
		q.Set("cursor", strconv.FormatInt(us-rewind.Microseconds(), 10))
	}
	u.RawQuery = q.Encode()
	dctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	conn, _, err := websocket.Dial(dctx, u.String(), &websocket.DialOptions{HTTPClient: s.hc, HTTPHeader: map[string][]string{"User-Agent": {s.ua}}})
	cancel()
	if err != nil {
		return fmt.Errorf("connect %s: %w", u.Host, err)
	}
	defer conn.CloseNow()
	conn.SetReadLimit(1 << 20) // one post; Jetstream events are small
	for {
		_, data, err := conn.Read(ctx)
		if err != nil {
			return fmt.Errorf("read: %w", err)
		}
		var ev event
		if err := json.Unmarshal(data, &ev); err != nil {
			sink.AddError(fmt.Errorf("jetstream: bad event: %w", err))
			continue
		}
		if m, ok := s.mention(ev); ok {
			if err := sink.Add(ctx, m); err != nil {
				return err
			}
		}
		if ev.TimeUS > 0 && !progress(strconv.FormatInt(ev.TimeUS, 10), ev.TimeUS) {
			conn.Close(websocket.StatusNormalClosure, "caught up")
			return errCaughtUp
		}
	}
}

func (s *Stream) mention(ev event) (mention.Mention, bool) {
	c := ev.Commit
	if ev.Kind != "commit" || c == nil || c.Operation != "create" || c.Collection != "app.bsky.feed.post" || ev.DID == "" || c.RKey == "" {
		return mention.Mention{}, false
	}
	if ok, _ := s.match.Match(c.Record.Text); !ok {
		return mention.Mention{}, false
	}
	lang := ""
	if len(c.Record.Langs) > 0 {
		lang = strings.ToLower(strings.SplitN(c.Record.Langs[0], "-", 2)[0])
	}
	if len(s.o.Langs) > 0 && !slices.Contains(s.o.Langs, lang) {
		return mention.Mention{}, false
	}
	uri := "at://" + ev.DID + "/app.bsky.feed.post/" + c.RKey
	m := mention.Mention{
		ID:     "bluesky:" + uri,
		Kind:   mention.KindPost,
		URL:    "https://bsky.app/profile/" + ev.DID + "/post/" + c.RKey,
		Author: ev.DID,
		Text:   c.Record.Text,
		Lang:   lang,
	}
	if t, err := time.Parse(time.RFC3339Nano, c.Record.CreatedAt); err == nil {
		m.PublishedAt = t
	} else {
		m.PublishedAt = time.UnixMicro(ev.TimeUS)
	}
	if c.Record.Reply != nil && c.Record.Reply.Parent.URI != "" {
		m.Kind, m.ParentID = mention.KindComment, "bluesky:"+c.Record.Reply.Parent.URI
	}
	return m, true
}
