// Package sendgridtest is a local SendGrid v3 mail-send endpoint for tests:
// it checks the API key, validates every request body against SendGrid's
// published OpenAPI schema (answering 400 with SendGrid-style errors when
// it does not conform), and answers 202, 429 or 500 on demand, or nothing
// at all (Hang) to stand for a request whose outcome the sender cannot know.
package sendgridtest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// Reply is one scripted answer.
type Reply struct {
	Status  int
	Headers map[string]string
	// Hang: read the request, then answer nothing until the client gives
	// up (its deadline) or the server closes.
	Hang bool
}

// Server is the fake endpoint.
type Server struct {
	*httptest.Server
	Key    string
	schema *jsonschema.Schema

	mu       sync.Mutex
	script   []Reply
	Requests [][]byte // bodies of accepted (202) requests
	Invalid  []error  // schema violations seen
	valid    int      // valid requests seen, whatever the answer
}

// New starts a server that validates against the OpenAPI file at specPath
// (twilio/sendgrid-oai tsg_mail_v3.json).
func New(t testing.TB, specPath, key string) *Server {
	t.Helper()
	f, err := os.Open(specPath)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := jsonschema.UnmarshalJSON(f)
	f.Close()
	if err != nil {
		t.Fatalf("spec: %v", err)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020) // OpenAPI 3.1 schemas are JSON Schema 2020-12
	const base = "file:///tsg_mail_v3.json"
	if err := c.AddResource(base, doc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile(base + "#/components/requestBodies/PostMailSend/content/application~1json/schema")
	if err != nil {
		t.Fatalf("compile mail send schema: %v", err)
	}
	s := &Server{Key: key, schema: sch}
	s.Server = httptest.NewServer(http.HandlerFunc(s.handle))
	t.Cleanup(s.Close)
	return s
}

// Script queues answers for the next requests (after them: 202).
func (s *Server) Script(replies ...Reply) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.script = append(s.script, replies...)
}

// Valid counts the valid requests seen, whatever the answer: the attempts
// that would have reached SendGrid. Locked: a hanging request's handler
// may still be running when the client has given up on it.
func (s *Server) Valid() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.valid
}

// Accepted returns the accepted bodies, decoded.
func (s *Server) Accepted() []map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []map[string]any
	for _, b := range s.Requests {
		var m map[string]any
		_ = json.Unmarshal(b, &m)
		out = append(out, m)
	}
	return out
}

func (s *Server) handle(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/v3/mail/send" {
		http.NotFound(w, r)
		return
	}
	if r.Header.Get("Authorization") != "Bearer "+s.Key {
		writeErr(w, http.StatusUnauthorized, "authorization", "The provided authorization grant is invalid, expired, or revoked")
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 30<<20))
	if err != nil {
		writeErr(w, http.StatusBadRequest, "", "unreadable body")
		return
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
	if err == nil {
		err = s.schema.Validate(inst)
	}
	s.mu.Lock()
	if err != nil {
		s.Invalid = append(s.Invalid, err)
		s.mu.Unlock()
		writeErr(w, http.StatusBadRequest, "", fmt.Sprintf("request does not match the OpenAPI schema: %v", err))
		return
	}
	s.valid++
	reply := Reply{Status: http.StatusAccepted}
	if len(s.script) > 0 {
		reply, s.script = s.script[0], s.script[1:]
	}
	if reply.Status == http.StatusAccepted && !reply.Hang {
		s.Requests = append(s.Requests, body)
	}
	s.mu.Unlock()
	if reply.Hang {
		// Outside the lock. It ends when the client drops the connection
		// (its deadline passed); Close waits for it.
		<-r.Context().Done()
		return
	}
	for k, v := range reply.Headers {
		w.Header().Set(k, v)
	}
	if reply.Status == http.StatusAccepted {
		w.WriteHeader(http.StatusAccepted)
		return
	}
	writeErr(w, reply.Status, "", http.StatusText(reply.Status))
}

func writeErr(w http.ResponseWriter, status int, field, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"errors": []map[string]any{{"message": msg, "field": field}}})
}
