// Package notifiertest runs the peers the notifier talks to, in process, for
// tests: an SMTP server (emersion/go-smtp) that parses every message it
// accepts, and webhook receivers that check Standard Webhooks signatures with
// an implementation of their own.
package notifiertest

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"math/big"
	"mime"
	"mime/multipart"
	"net"
	"net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// Message is one email the server accepted, parsed.
type Message struct {
	From    string
	To      []string
	Header  mail.Header
	Text    string // the text/plain part
	HTML    string // the text/html part
	Raw     []byte
	Arrived time.Time
}

// Fault decides, per recipient, how the server answers: nil accepts; an
// *smtp.SMTPError is returned as is. Hang makes the server stop answering.
type Fault func(rcpt string) error

// ErrHang, returned by a Fault, makes the server hold the connection without
// answering.
var ErrHang = errors.New("hang")

// SMTPServer is an in-process SMTP server.
type SMTPServer struct {
	Addr     string
	Host     string
	Port     int
	CertPool *x509.CertPool // trusts the server's certificate

	srv *smtp.Server
	ln  net.Listener

	mu          sync.Mutex
	msgs        []Message
	fault       Fault
	conns       int
	hangs       chan struct{}
	notify      chan struct{}
	user        string
	password    string
	authed      int
	delay       time.Duration
	countOnly   bool
	count       int
	first, last time.Time
}

// SMTPOptions configure StartSMTP.
type SMTPOptions struct {
	// TLS: "" (plain, no STARTTLS offered), "starttls" or "tls" (implicit).
	TLS      string
	Username string // require AUTH PLAIN with these when set
	Password string
	// CountOnly keeps no messages, only their number and the first and
	// last arrival times: a sink for benchmarks, whose memory stays flat.
	CountOnly bool
}

// StartSMTP starts a server on 127.0.0.1 and stops it when the test ends.
func StartSMTP(tb testing.TB, o SMTPOptions) *SMTPServer {
	tb.Helper()
	s := &SMTPServer{hangs: make(chan struct{}), notify: make(chan struct{}, 1), user: o.Username, password: o.Password, countOnly: o.CountOnly}
	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		s.mu.Lock()
		s.conns++
		s.mu.Unlock()
		return &session{s: s}, nil
	}))
	srv.Domain = "localhost"
	srv.MaxMessageBytes = 10 << 20
	srv.MaxRecipients = 50
	srv.ReadTimeout = time.Minute
	srv.WriteTimeout = time.Minute
	srv.AllowInsecureAuth = o.TLS == ""
	var ln net.Listener
	var err error
	if o.TLS != "" {
		cert, pool := selfSigned(tb)
		s.CertPool = pool
		srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	if o.TLS == "tls" {
		ln, err = tls.Listen("tcp", "127.0.0.1:0", srv.TLSConfig)
	} else {
		ln, err = net.Listen("tcp", "127.0.0.1:0")
	}
	if err != nil {
		tb.Fatalf("smtp listen: %v", err)
	}
	s.srv, s.ln = srv, ln
	s.Addr = ln.Addr().String()
	host, port, _ := net.SplitHostPort(s.Addr)
	s.Host = host
	fmt.Sscan(port, &s.Port)
	go func() { _ = srv.Serve(ln) }() // returns when closed
	tb.Cleanup(func() {
		s.mu.Lock()
		select {
		case <-s.hangs:
		default:
			close(s.hangs)
		}
		s.mu.Unlock()
		_ = srv.Close() // the test is over
	})
	return s
}

// SetFault changes how the server answers from now on; nil accepts all.
func (s *SMTPServer) SetFault(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fault = f
}

// SetDelay makes the server take d to accept each message, as a busy relay
// does.
func (s *SMTPServer) SetDelay(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.delay = d
}

// Messages returns a copy of what was accepted so far.
func (s *SMTPServer) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.msgs...)
}

// Count is how many messages were accepted.
func (s *SMTPServer) Count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.count
}

// Arrivals returns when the first and the last message arrived.
func (s *SMTPServer) Arrivals() (first, last time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.first, s.last
}

// Connections is how many connections the server saw.
func (s *SMTPServer) Connections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.conns
}

// Authenticated is how many sessions authenticated.
func (s *SMTPServer) Authenticated() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.authed
}

// WaitFor waits until at least n messages arrived, or fails the test after
// timeout (a hang guard, not a measurement).
func (s *SMTPServer) WaitFor(tb testing.TB, n int, timeout time.Duration) []Message {
	tb.Helper()
	deadline := time.After(timeout)
	for {
		if s.Count() >= n {
			return s.Messages()
		}
		select {
		case <-s.notify:
		case <-time.After(50 * time.Millisecond):
		case <-deadline:
			tb.Fatalf("smtp: %d messages after %s; want %d", s.Count(), timeout, n)
		}
	}
}

type session struct {
	s    *SMTPServer
	from string
	to   []string
	auth bool
}

var _ smtp.AuthSession = (*session)(nil)

func (ss *session) AuthMechanisms() []string {
	if ss.s.user == "" {
		return nil
	}
	return []string{sasl.Plain}
}

func (ss *session) Auth(mech string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(identity, username, password string) error {
		if username != ss.s.user || password != ss.s.password {
			return &smtp.SMTPError{Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 8}, Message: "bad credentials"}
		}
		ss.auth = true
		ss.s.mu.Lock()
		ss.s.authed++
		ss.s.mu.Unlock()
		return nil
	}), nil
}

func (ss *session) Mail(from string, _ *smtp.MailOptions) error {
	if ss.s.user != "" && !ss.auth {
		return &smtp.SMTPError{Code: 530, EnhancedCode: smtp.EnhancedCode{5, 7, 0}, Message: "authentication required"}
	}
	ss.from = from
	return nil
}

func (ss *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	ss.s.mu.Lock()
	f := ss.s.fault
	ss.s.mu.Unlock()
	if f != nil {
		if err := f(to); err != nil {
			if errors.Is(err, ErrHang) {
				<-ss.s.hangs
				return &smtp.SMTPError{Code: 421, Message: "closing"}
			}
			return err
		}
	}
	ss.to = append(ss.to, to)
	return nil
}

func (ss *session) Data(r io.Reader) error {
	if ss.s.countOnly {
		if _, err := io.Copy(io.Discard, r); err != nil {
			return err
		}
		ss.s.mu.Lock()
		ss.s.arrived(time.Now())
		ss.s.mu.Unlock()
		return nil
	}
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	m, err := parse(raw)
	if err != nil {
		return &smtp.SMTPError{Code: 554, Message: "unparseable message: " + err.Error()}
	}
	ss.s.mu.Lock()
	d := ss.s.delay
	ss.s.mu.Unlock()
	if d > 0 {
		time.Sleep(d)
	}
	m.From, m.To, m.Arrived = ss.from, ss.to, time.Now()
	ss.s.mu.Lock()
	ss.s.msgs = append(ss.s.msgs, m)
	ss.s.arrived(m.Arrived)
	ss.s.mu.Unlock()
	return nil
}

// arrived counts a message; s.mu is held.
func (s *SMTPServer) arrived(at time.Time) {
	s.count++
	if s.first.IsZero() {
		s.first = at
	}
	s.last = at
	select {
	case s.notify <- struct{}{}:
	default:
	}
}

func (ss *session) Reset()        { ss.from, ss.to = "", nil }
func (ss *session) Logout() error { return nil }

// parse reads a message and its text and HTML parts.
func parse(raw []byte) (Message, error) {
	mm, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return Message{}, err
	}
	m := Message{Header: mm.Header, Raw: raw}
	if err := walk(mm.Header.Get("Content-Type"), mm.Header.Get("Content-Transfer-Encoding"), mm.Body, &m); err != nil {
		return Message{}, err
	}
	return m, nil
}

func walk(ctype, cte string, body io.Reader, m *Message) error {
	mt, params, err := mime.ParseMediaType(ctype)
	if err != nil {
		return fmt.Errorf("content type %q: %w", ctype, err)
	}
	if strings.HasPrefix(mt, "multipart/") {
		mr := multipart.NewReader(body, params["boundary"])
		for {
			p, err := mr.NextRawPart()
			if errors.Is(err, io.EOF) {
				return nil
			}
			if err != nil {
				return err
			}
			if err := walk(p.Header.Get("Content-Type"), p.Header.Get("Content-Transfer-Encoding"), p, m); err != nil {
				return err
			}
		}
	}
	b, err := decode(cte, body)
	if err != nil {
		return err
	}
	switch mt {
	case "text/plain":
		m.Text = string(b)
	case "text/html":
		m.HTML = string(b)
	}
	return nil
}

func selfSigned(tb testing.TB) (tls.Certificate, *x509.CertPool) {
	tb.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "localhost"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		DNSNames:              []string{"localhost"},
		IsCA:                  true,
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		tb.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		tb.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: cert}, pool
}
