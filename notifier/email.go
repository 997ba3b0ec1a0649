package notifier

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/textproto"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	gomail "github.com/wneessen/go-mail"
	"github.com/wneessen/go-mail/smtp"
)

// Mailer sends one email message. Key names the server, for its breaker.
type Mailer interface {
	Send(ctx context.Context, m *gomail.Msg) error
	Key() string
	Close() error
}

// TLSMode is how an SMTP connection is encrypted.
type TLSMode string

// The SMTP TLS modes.
const (
	TLSStartTLS TLSMode = "starttls" // plain connection upgraded with STARTTLS, which is required (port 587)
	TLSImplicit TLSMode = "tls"      // TLS from the first byte (port 465)
	TLSNone     TLSMode = "none"     // no encryption: a relay on the same host or network only
)

// SMTPOptions configure an SMTPMailer. Zero values take the defaults noted.
type SMTPOptions struct {
	Host     string
	Port     int     // 587
	TLS      TLSMode // starttls
	Username string  // no authentication if empty
	Password string
	HELO     string        // the local host name if empty
	Timeout  time.Duration // connecting and each command; 30s
	// Concurrency is how many messages are sent at once, each on its own
	// connection; 4.
	Concurrency int
	// MaxPerConn starts a new connection after this many messages; 100.
	MaxPerConn int
	TLSConfig  *tls.Config // for tests; nil verifies against the system roots
}

// SMTPMailer sends through an SMTP relay, reusing connections across
// messages, at most Concurrency at a time.
type SMTPMailer struct {
	o      SMTPOptions
	client *gomail.Client
	sem    chan struct{}
	idle   chan *conn
	key    string

	mu     sync.Mutex
	closed bool
}

type conn struct {
	c        *smtp.Client
	sent     int
	lastUsed time.Time
}

var _ Mailer = (*SMTPMailer)(nil)

// NewSMTPMailer prepares a mailer; it connects on the first message.
func NewSMTPMailer(o SMTPOptions) (*SMTPMailer, error) {
	if o.Host == "" {
		return nil, errors.New("smtp: host is required")
	}
	if o.Port == 0 {
		o.Port = 587
	}
	if o.TLS == "" {
		o.TLS = TLSStartTLS
	}
	if o.Timeout <= 0 {
		o.Timeout = 30 * time.Second
	}
	if o.Concurrency <= 0 {
		o.Concurrency = 4
	}
	if o.MaxPerConn <= 0 {
		o.MaxPerConn = 100
	}
	opts := []gomail.Option{gomail.WithPort(o.Port), gomail.WithTimeout(o.Timeout), gomail.WithoutNoop()}
	tc := o.TLSConfig
	if tc == nil {
		tc = &tls.Config{ServerName: o.Host, MinVersion: tls.VersionTLS12}
	}
	opts = append(opts, gomail.WithTLSConfig(tc))
	switch o.TLS {
	case TLSStartTLS:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	case TLSImplicit:
		opts = append(opts, gomail.WithSSL())
	case TLSNone:
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	default:
		return nil, fmt.Errorf("smtp: tls mode %q: use starttls, tls or none", o.TLS)
	}
	if o.HELO != "" {
		opts = append(opts, gomail.WithHELO(o.HELO))
	}
	if o.Username != "" {
		opts = append(opts, gomail.WithSMTPAuth(gomail.SMTPAuthAutoDiscover), gomail.WithUsername(o.Username), gomail.WithPassword(o.Password))
	}
	c, err := gomail.NewClient(o.Host, opts...)
	if err != nil {
		return nil, fmt.Errorf("smtp: %w", err)
	}
	return &SMTPMailer{o: o, client: c, sem: make(chan struct{}, o.Concurrency), idle: make(chan *conn, o.Concurrency),
		key: "smtp://" + net.JoinHostPort(o.Host, strconv.Itoa(o.Port))}, nil
}

// Key names the relay: "smtp://host:port".
func (s *SMTPMailer) Key() string { return s.key }

// idleFor is how long a connection may sit unused before it is dropped
// rather than reused: relays close idle connections, and a fresh one costs
// less than a failed send.
const idleFor = 20 * time.Second

// Send delivers m. It waits for a free connection slot (bounded by ctx),
// reuses an idle connection when there is one, and on a reused connection
// that turns out broken tries once more on a new one. Errors are
// *SendError: Permanent for a 5xx answer, HostFault for connection, TLS
// and authentication trouble and 421.
func (s *SMTPMailer) Send(ctx context.Context, m *gomail.Msg) error {
	select {
	case s.sem <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-s.sem }()
	c, reused, err := s.take(ctx)
	if err != nil {
		return classifySMTP(err)
	}
	err = s.sendOn(ctx, c, m)
	if err != nil && reused && !m.IsDelivered() && ctx.Err() == nil && connBroken(err) {
		s.discard(c)
		if c, err = s.dial(ctx); err != nil {
			return classifySMTP(err)
		}
		err = s.sendOn(ctx, c, m)
	}
	if err != nil {
		s.discard(c)
		if m.IsDelivered() {
			return nil // accepted; only the reset after it failed
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return classifySMTP(err)
	}
	s.put(c)
	return nil
}

func (s *SMTPMailer) sendOn(ctx context.Context, c *conn, m *gomail.Msg) error {
	// go-mail's send takes no context; closing the connection interrupts it.
	stop := context.AfterFunc(ctx, func() { _ = c.c.Close() }) // the send reports the failure
	defer stop()
	err := s.client.SendWithSMTPClient(c.c, m)
	c.sent++
	c.lastUsed = time.Now()
	return err
}

func (s *SMTPMailer) take(ctx context.Context) (*conn, bool, error) {
	for {
		select {
		case c := <-s.idle:
			if time.Since(c.lastUsed) < idleFor && c.sent < s.o.MaxPerConn {
				return c, true, nil
			}
			s.quit(c)
			continue
		default:
		}
		c, err := s.dial(ctx)
		return c, false, err
	}
}

func (s *SMTPMailer) dial(ctx context.Context) (*conn, error) {
	dctx, cancel := context.WithTimeout(ctx, s.o.Timeout)
	defer cancel()
	c, err := s.client.DialToSMTPClientWithContext(dctx)
	if err != nil {
		return nil, err
	}
	return &conn{c: c, lastUsed: time.Now()}, nil
}

func (s *SMTPMailer) put(c *conn) {
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if closed || c.sent >= s.o.MaxPerConn {
		s.quit(c)
		return
	}
	select {
	case s.idle <- c:
	default:
		s.quit(c)
	}
}

func (s *SMTPMailer) quit(c *conn) {
	// QUIT politely, but never wait long for it.
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = s.client.CloseWithSMTPClient(c.c) // the connection is dropped either way
	}()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		_ = c.c.Close() // the QUIT hung; drop it
	}
}

func (s *SMTPMailer) discard(c *conn) {
	if c != nil {
		_ = c.c.Close() // broken already; nothing to report
	}
}

// Close quits idle connections.
func (s *SMTPMailer) Close() error {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	for {
		select {
		case c := <-s.idle:
			s.quit(c)
		default:
			return nil
		}
	}
}

var replyCode = regexp.MustCompile(`^([2-5])\d\d[ -]`)

// smtpCode finds the reply code in an SMTP error, 0 if there was none.
func smtpCode(err error) int {
	var se *gomail.SendError
	if errors.As(err, &se) {
		if c := se.ErrorCode(); c != 0 {
			return c
		}
	}
	var te *textproto.Error
	if errors.As(err, &te) {
		return te.Code
	}
	msg := err.Error()
	if i := strings.LastIndex(msg, ": "); i >= 0 && replyCode.MatchString(msg[i+2:]) {
		msg = msg[i+2:]
	}
	if replyCode.MatchString(msg) {
		n, _ := strconv.Atoi(msg[:3]) // three digits, checked by the pattern
		return n
	}
	return 0
}

// connBroken reports whether err looks like a dead connection rather than
// an answer from the server.
func connBroken(err error) bool {
	c := smtpCode(err)
	return c == 0 || c == 421
}

// classifySMTP turns a go-mail error into a *SendError.
func classifySMTP(err error) error {
	if err == nil {
		return nil
	}
	code := smtpCode(err)
	reason := "mail server answered " + strconv.Itoa(code)
	switch {
	case code >= 500:
		return &SendError{Permanent: true, Code: code, Reason: reason, Err: err}
	case code == 421:
		return &SendError{HostFault: true, Code: code, Reason: reason, Err: err}
	case code >= 400:
		return &SendError{Code: code, Reason: reason, Err: err}
	}
	if isTimeout(err) || errors.Is(err, context.DeadlineExceeded) {
		return &SendError{HostFault: true, Reason: "mail server timed out", Err: err}
	}
	return &SendError{HostFault: true, Reason: "connection to mail server failed", Err: err}
}

// EMLMailer writes each message as an .eml file into a directory instead of
// sending it: the default when no SMTP relay is configured, so a newcomer
// can open what subscribers would receive. A retry overwrites the same file.
type EMLMailer struct {
	dir string
}

var _ Mailer = (*EMLMailer)(nil)

// NewEMLMailer creates dir if needed.
func NewEMLMailer(dir string) (*EMLMailer, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("create email directory: %w", err)
	}
	return &EMLMailer{dir: dir}, nil
}

// Dir is where the files go.
func (e *EMLMailer) Dir() string { return e.dir }

// Key is "eml:" and the directory.
func (e *EMLMailer) Key() string { return "eml:" + e.dir }

var unsafeFileChars = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// Send writes m to <dir>/<message id>.eml, atomically.
func (e *EMLMailer) Send(_ context.Context, m *gomail.Msg) error {
	id := strings.Trim(m.GetMessageID(), "<>")
	if id == "" {
		id = strconv.FormatInt(time.Now().UnixNano(), 10)
	}
	name := unsafeFileChars.ReplaceAllString(id, "_")
	if len(name) > 200 {
		name = name[:200]
	}
	f, err := os.CreateTemp(e.dir, ".tmp-*")
	if err != nil {
		return &SendError{HostFault: true, Reason: "write email file", Err: err}
	}
	_, werr := m.WriteTo(f)
	cerr := f.Close()
	if err := errors.Join(werr, cerr); err != nil {
		_ = os.Remove(f.Name()) // best effort; the write error is the one to report
		return &SendError{HostFault: true, Reason: "write email file", Err: err}
	}
	if err := os.Rename(f.Name(), filepath.Join(e.dir, name+".eml")); err != nil {
		_ = os.Remove(f.Name()) // best effort
		return &SendError{HostFault: true, Reason: "write email file", Err: err}
	}
	return nil
}

// Close does nothing.
func (e *EMLMailer) Close() error { return nil }
