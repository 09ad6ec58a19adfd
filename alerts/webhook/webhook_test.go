package webhook

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/earshot/earshot/alerts/alertstest"
	"github.com/earshot/earshot/config"
)

func TestSignedPost(t *testing.T) {
	var status = http.StatusOK
	var got Payload
	var sigOK bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		sigOK = r.Header.Get("X-Earshot-Signature") == Sign("s3cret", r.Header.Get("X-Earshot-Timestamp"), body) && r.Header.Get("X-Team") == "guests"
		_ = json.Unmarshal(body, &got)
		if status == http.StatusServiceUnavailable {
			w.Header().Set("Retry-After", "3")
		}
		w.WriteHeader(status)
	}))
	defer srv.Close()
	r := New("crm", config.WebhookOptions{URL: srv.URL, Secret: "s3cret", Headers: map[string]string{"X-Team": "guests"}})
	if d, err := r.Send(context.Background(), alertstest.Hostile()); err != nil || d.HTTPStatus != 200 {
		t.Fatal(d, err)
	}
	if !sigOK || len(got.Cases) != 1 || got.Cases[0].Mention.ID != "schemaorg:r1" || got.Cases[0].AckURL == "" {
		t.Errorf("signature ok %v, payload %+v", sigOK, got)
	}
	status = http.StatusServiceUnavailable
	if d, err := r.Send(context.Background(), alertstest.Hostile()); err == nil || !d.Retry || d.RetryAfter.Seconds() != 3 {
		t.Errorf("503: %+v %v", d, err)
	}
	status = http.StatusBadRequest
	if d, err := r.Send(context.Background(), alertstest.Hostile()); err == nil || d.Retry {
		t.Errorf("400 must be final: %+v %v", d, err)
	}
}
