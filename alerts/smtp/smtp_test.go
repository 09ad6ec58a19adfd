package smtp

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"mime"
	"mime/multipart"
	"net"
	netmail "net/mail"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	gosmtp "github.com/emersion/go-smtp"

	"github.com/earshot/earshot/alerts"
	"github.com/earshot/earshot/alerts/alertstest"
	"github.com/earshot/earshot/config"
)

// received is what the local server saw of one message.
type received struct {
	from, user string
	to         []string
	tls        bool
	data       []byte
}

// server is an SMTP server on 127.0.0.1 (github.com/emersion/go-smtp)
// that offers STARTTLS with a throwaway certificate, AUTH PLAIN only over
// TLS, and records what it receives.
type server struct {
	addr   string
	caFile string
	mu     sync.Mutex
	got    []received
	// rcptErr, when set, answers RCPT TO with it.
	rcptErr error
}

func newServer(t *testing.T, withTLS bool) *server {
	t.Helper()
	s := &server{}
	be := gosmtp.BackendFunc(func(c *gosmtp.Conn) (gosmtp.Session, error) {
		return &session{s: s, c: c}, nil
	})
	srv := gosmtp.NewServer(be)
	srv.Domain = "localhost"
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	if withTLS {
		cert, pemBytes := selfSigned(t)
		srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}}
		s.caFile = filepath.Join(t.TempDir(), "ca.pem")
		if err := os.WriteFile(s.caFile, pemBytes, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.addr = l.Addr().String()
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	return s
}

type session struct {
	s    *server
	c    *gosmtp.Conn
	cur  received
	user string
}

func (x *session) AuthMechanisms() []string { return []string{sasl.Plain} }
func (x *session) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		if user != "alerts@example.com" || pass != "s3cret-from-env" {
			return errors.New("invalid credentials")
		}
		x.user = user
		return nil
	}), nil
}
func (x *session) Mail(from string, _ *gosmtp.MailOptions) error {
	x.cur = received{from: from, user: x.user}
	return nil
}
func (x *session) Rcpt(to string, _ *gosmtp.RcptOptions) error {
	if x.s.rcptErr != nil {
		return x.s.rcptErr
	}
	x.cur.to = append(x.cur.to, to)
	return nil
}
func (x *session) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	_, x.cur.tls = x.c.TLSConnectionState()
	x.cur.data = b
	x.s.mu.Lock()
	x.s.got = append(x.s.got, x.cur)
	x.s.mu.Unlock()
	return nil
}
func (x *session) Reset()        {}
func (x *session) Logout() error { return nil }

func (s *server) received() []received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]received(nil), s.got...)
}

func selfSigned(t *testing.T) (tls.Certificate, []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "earshot test smtp"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"},
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA: true, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	cert, err := tls.X509KeyPair(certPEM, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}))
	if err != nil {
		t.Fatal(err)
	}
	return cert, certPEM
}

// kinds registers this package's kind, as cmd/earshot does.
var kinds = map[string]func() any{"smtp": Kind().Options}

// options parses a receiver from YAML as earshot does, the password
// expanded from the (fake) environment.
func options(t *testing.T, s *server, extra string) Options {
	t.Helper()
	host, port, _ := net.SplitHostPort(s.addr)
	y := "receivers:\n  - {name: mail, kind: smtp, host: " + host + ", port: " + port +
		", from: earshot@example.com, to: [desk@example.com, lead@example.com]" + extra + "}\nroute: {receiver: mail}\n"
	env := map[string]string{"SMTP_PASSWORD": "s3cret-from-env"}
	cfg, err := config.Parse("smtp.yaml", []byte(y), config.Schema{ReceiverKinds: kinds, Getenv: func(k string) (string, bool) { v, ok := env[k]; return v, ok }})
	if err != nil {
		t.Fatal(err)
	}
	return *cfg.Receivers[0].Options.(*Options)
}

// parts returns the decoded bodies of a mail by content type.
func parts(t *testing.T, data []byte) (*netmail.Message, map[string]string) {
	t.Helper()
	msg, err := netmail.ReadMessage(strings.NewReader(string(data)))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	var walk func(ct string, body io.Reader)
	walk = func(ct string, body io.Reader) {
		mt, params, err := mime.ParseMediaType(ct)
		if err != nil {
			t.Fatalf("content type %q: %v", ct, err)
		}
		if strings.HasPrefix(mt, "multipart/") {
			mr := multipart.NewReader(body, params["boundary"])
			for {
				p, err := mr.NextPart()
				if err == io.EOF {
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				walk(p.Header.Get("Content-Type"), p) // multipart.Part decodes quoted-printable
			}
		}
		b, err := io.ReadAll(body)
		if err != nil {
			t.Fatal(err)
		}
		out[mt] = string(b)
	}
	walk(msg.Header.Get("Content-Type"), msg.Body)
	return msg, out
}

func TestSendSTARTTLSWithAuth(t *testing.T) {
	s := newServer(t, true)
	o := options(t, s, `, username: alerts@example.com, password: "${SMTP_PASSWORD}"`)
	o.CAFile = s.caFile
	r := New("mail", o)
	m := alertstest.Hostile()
	m.ID = "msg-0123"
	d, err := r.Send(context.Background(), m)
	if err != nil {
		t.Fatalf("send: %v (%+v)", err, d)
	}
	got := s.received()
	if len(got) != 1 {
		t.Fatalf("%d messages arrived, want 1", len(got))
	}
	g := got[0]
	if !g.tls || g.user != "alerts@example.com" || g.from != "earshot@example.com" || strings.Join(g.to, ",") != "desk@example.com,lead@example.com" {
		t.Errorf("tls %v, user %q, from %q, to %v", g.tls, g.user, g.from, g.to)
	}
	msg, body := parts(t, g.data)
	subj, err := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	if err != nil {
		t.Fatal(err)
	}
	if subj != alerts.Subject(m) || !strings.HasPrefix(subj, "[Earshot] CRITICAL") {
		t.Errorf("subject %q, want %q", subj, alerts.Subject(m))
	}
	if msg.Header.Get("Bcc") != "" || strings.Contains(string(g.data), "\nBcc:") || strings.Contains(string(g.data), "\nSubject: injected") {
		t.Error("header injected from the review")
	}
	if !strings.Contains(msg.Header.Get("Message-Id"), "msg-0123@example.com") {
		t.Errorf("Message-Id %q", msg.Header.Get("Message-Id"))
	}
	if txt := body["text/plain"]; !strings.Contains(txt, "> <script>alert(1)</script> Trovanje hranom") || !strings.Contains(txt, "Case case-1") {
		t.Errorf("text part:\n%s", txt)
	}
	if html := body["text/html"]; !strings.Contains(html, "&lt;script&gt;alert(1)&lt;/script&gt;") || strings.Contains(html, "<script>") ||
		!strings.Contains(html, `href="https://e.test/ack?t=x"`) {
		t.Errorf("html part:\n%s", html)
	}
}

func TestDigestImageInline(t *testing.T) {
	s := newServer(t, true)
	o := options(t, s, "")
	o.CAFile = s.caFile
	if _, err := New("mail", o).Send(context.Background(), alertstest.HostileDigest()); err != nil {
		t.Fatal(err)
	}
	got := s.received()
	if len(got) != 1 {
		t.Fatalf("%d messages", len(got))
	}
	_, body := parts(t, got[0].data)
	if body["image/png"] == "" || !strings.Contains(body["text/html"], `src="cid:trend.png"`) {
		t.Errorf("parts %v", keys(body))
	}
}

func keys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestRefusesServerWithoutSTARTTLS(t *testing.T) {
	s := newServer(t, false)
	r := New("mail", options(t, s, `, username: alerts@example.com, password: "${SMTP_PASSWORD}"`))
	d, err := r.Send(context.Background(), alertstest.Hostile())
	if err == nil {
		t.Fatal("sent without TLS")
	}
	if d.Unknown || len(s.received()) != 0 {
		t.Errorf("delivery %+v, %d received", d, len(s.received()))
	}
	// tls: none, no password, for a local mail catcher such as Mailpit.
	if _, err := New("mail", options(t, s, ", tls: none")).Send(context.Background(), alertstest.Hostile()); err != nil {
		t.Fatal(err)
	}
	if got := s.received(); len(got) != 1 || got[0].tls {
		t.Errorf("tls none: %d received", len(got))
	}
}

func TestRetryableAndFinal(t *testing.T) {
	for _, tc := range []struct {
		code  int
		retry bool
	}{{451, true}, {550, false}} {
		s := newServer(t, false)
		s.rcptErr = &gosmtp.SMTPError{Code: tc.code, EnhancedCode: gosmtp.EnhancedCode{tc.code / 100, 0, 0}, Message: "no"}
		d, err := New("mail", options(t, s, ", tls: none")).Send(context.Background(), alertstest.Hostile())
		if err == nil || d.Retry != tc.retry || d.Unknown {
			t.Errorf("%d: retry %v unknown %v err %v, want retry %v", tc.code, d.Retry, d.Unknown, err, tc.retry)
		}
	}
	// Nobody listening: a network failure, worth another attempt.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().(*net.TCPAddr)
	_ = l.Close()
	d, err := New("mail", Options{Host: "127.0.0.1", Port: addr.Port, TLS: "none", From: "e@example.com", To: []string{"d@example.com"},
		Timeout: 2 * time.Second}).Send(context.Background(), alertstest.Hostile())
	if err == nil || !d.Retry {
		t.Errorf("refused connection: retry %v, err %v", d.Retry, err)
	}
}

func TestConfig(t *testing.T) {
	env := func(k string) (string, bool) { return "pw", k == "SMTP_PASSWORD" }
	for _, tc := range []struct{ yaml, want string }{
		{"{name: m, kind: smtp, host: mail.example.com, from: a@example.com, to: [b@example.com], username: u, password: hunter2}", "secrets must come from the environment"},
		{"{name: m, kind: smtp, host: mail.example.com, from: a@example.com, to: [b@example.com], tls: none, username: u, password: '${SMTP_PASSWORD}'}", "in clear"},
		{"{name: m, kind: smtp, host: mail.example.com, from: a@example.com, to: [b@example.com], tls: ssl}", "starttls, implicit or none"},
		{"{name: m, kind: smtp, host: mail.example.com:587, from: a@example.com, to: [b@example.com]}", "host"},
		{"{name: m, kind: smtp, host: mail.example.com, from: a@example.com, to: []}", "at least one address"},
		{"{name: m, kind: smtp, host: mail.example.com, from: a@example.com, to: [b@example.com], username: u}", "username and password go together"},
		{"{name: m, kind: smtp, host: mail.example.com, from: a@example.com, to: [b@example.com], username: u, password: '${SMTP_PASSWORD}'}", ""},
	} {
		_, err := config.Parse("c.yaml", []byte("receivers: ["+tc.yaml+"]\nroute: {receiver: m}\n"), config.Schema{ReceiverKinds: kinds, Getenv: env})
		if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%s: err %v, want %q", tc.yaml, err, tc.want)
		}
	}
}
