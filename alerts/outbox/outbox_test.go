package outbox

import (
	"bytes"
	"context"
	"encoding/base64"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/earshot/earshot/alerts/alertstest"
)

func TestEML(t *testing.T) {
	dir := t.TempDir()
	r := New("desk", dir)
	if _, err := r.Send(context.Background(), alertstest.Hostile()); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.eml"))
	if len(files) != 1 {
		t.Fatalf("files %v", files)
	}
	f, _ := os.Open(files[0])
	defer f.Close()
	msg, err := mail.ReadMessage(f)
	if err != nil {
		t.Fatalf("not RFC 5322: %v", err)
	}
	subject, err := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	if err != nil || !strings.Contains(subject, "CRITICAL") {
		t.Errorf("subject %q %v", subject, err)
	}
	if msg.Header.Get("Bcc") != "" || len(msg.Header) != 7 {
		t.Errorf("header injection: %v", msg.Header)
	}
	_, params, _ := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	mr := multipart.NewReader(msg.Body, params["boundary"])
	var parts []string
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(quotedprintable.NewReader(p))
		parts = append(parts, p.Header.Get("Content-Type")+"\n"+string(b))
	}
	if len(parts) != 2 || !strings.Contains(parts[0], "Trovanje hranom") || !strings.Contains(parts[0], "odvjetnik će") {
		t.Fatalf("parts %q", parts)
	}
	// The suggested reply, in Croatian, neutral greeting (the author field is hostile).
	if !strings.Contains(parts[0], "Suggested reply") || !strings.Contains(parts[0], "Poštovani,") || !strings.Contains(parts[0], "Ana <Horvat>") {
		t.Errorf("text part lacks the suggested reply:\n%s", parts[0])
	}
	if !strings.Contains(parts[1], "Ana &lt;Horvat&gt;") {
		t.Errorf("reply not escaped in HTML")
	}
	if strings.Contains(parts[1], "<script>") || strings.Contains(parts[1], "javascript:") || !strings.Contains(parts[1], "&lt;script&gt;") {
		t.Errorf("HTML part not escaped:\n%s", parts[1])
	}
}

func TestEMLWithInlineChart(t *testing.T) {
	dir := t.TempDir()
	if _, err := New("desk", dir).Send(context.Background(), alertstest.HostileDigest()); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.eml"))
	f, err := os.Open(files[0])
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	msg, err := mail.ReadMessage(f)
	if err != nil {
		t.Fatal(err)
	}
	if msg.Header.Get("Bcc") != "" {
		t.Errorf("header injection through the title: %v", msg.Header)
	}
	typ, params, _ := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if typ != "multipart/related" {
		t.Fatalf("content type %s", typ)
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	alt, err := mr.NextPart()
	if err != nil {
		t.Fatal(err)
	}
	at, ap, _ := mime.ParseMediaType(alt.Header.Get("Content-Type"))
	if at != "multipart/alternative" {
		t.Fatalf("first part %s", at)
	}
	inner := multipart.NewReader(alt, ap["boundary"])
	var html string
	for {
		p, err := inner.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(quotedprintable.NewReader(p))
		if strings.HasPrefix(p.Header.Get("Content-Type"), "text/html") {
			html = string(b)
		}
	}
	if !strings.Contains(html, `src="cid:trend.png"`) || strings.Contains(html, "<script>") {
		t.Errorf("html part: %s", html)
	}
	img, err := mr.NextPart()
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(base64.NewDecoder(base64.StdEncoding, img))
	if img.Header.Get("Content-ID") != "<trend.png>" || !bytes.Equal(raw, alertstest.PNG) {
		t.Errorf("image part %v: %d bytes", img.Header, len(raw))
	}
	if _, err := mr.NextPart(); err != io.EOF {
		t.Errorf("more parts than expected: %v", err)
	}
}
