package notifiertest

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// VerifyStandardWebhook checks a request's signature as the Standard
// Webhooks specification describes it, written from the specification and
// sharing no code with the sender: the secret is "whsec_" + base64 of the
// key; the signed content is "{webhook-id}.{webhook-timestamp}.{body}";
// webhook-signature holds space-separated "v1,<base64 HMAC-SHA256>"
// signatures, any of which may match; the timestamp must be within
// tolerance of now.
func VerifyStandardWebhook(secret string, h http.Header, body []byte, now time.Time, tolerance time.Duration) error {
	id, ts, sigs := h.Get("webhook-id"), h.Get("webhook-timestamp"), h.Get("webhook-signature")
	if id == "" || ts == "" || sigs == "" {
		return errors.New("missing webhook-id, webhook-timestamp or webhook-signature")
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return errors.New("webhook-timestamp is not an integer")
	}
	if d := now.Sub(time.Unix(sec, 0)); d > tolerance || d < -tolerance {
		return errors.New("webhook-timestamp outside tolerance")
	}
	if !strings.HasPrefix(secret, "whsec_") {
		return errors.New("secret lacks whsec_ prefix")
	}
	key, err := base64.StdEncoding.DecodeString(secret[len("whsec_"):])
	if err != nil {
		return errors.New("secret is not base64")
	}
	mac := hmac.New(sha256.New, key)
	io.WriteString(mac, id+"."+ts+".")
	mac.Write(body)
	want := mac.Sum(nil)
	for _, s := range strings.Fields(sigs) {
		version, b64, ok := strings.Cut(s, ",")
		if !ok || version != "v1" {
			continue
		}
		got, err := base64.StdEncoding.DecodeString(b64)
		if err == nil && hmac.Equal(got, want) {
			return nil
		}
	}
	return errors.New("no signature matches")
}

// Request is one webhook a Receiver got.
type Request struct {
	Path     string
	Header   http.Header
	Body     []byte
	Verified bool // the signature checked out against the receiver's secret
	Arrived  time.Time
}

// Receiver is an HTTP server collecting webhooks. Status decides the answer
// (200 when nil); Secret, when set, is checked on each request.
type Receiver struct {
	*httptest.Server

	mu      sync.Mutex
	reqs    []Request
	secrets []string
	status  func(n int) int
	delay   time.Duration
	notify  chan struct{}
}

// StartReceiver starts a receiver and closes it when the test ends.
func StartReceiver(tb testing.TB) *Receiver {
	tb.Helper()
	r := &Receiver{notify: make(chan struct{}, 1)}
	r.Server = httptest.NewServer(http.HandlerFunc(r.serve))
	tb.Cleanup(r.Server.Close)
	return r
}

// SetSecrets sets the secrets a signature may match; none skips the check.
func (r *Receiver) SetSecrets(s ...string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.secrets = s
}

// SetStatus makes the n-th request (from 1) get status(n).
func (r *Receiver) SetStatus(f func(n int) int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.status = f
}

// SetDelay makes every answer wait d (or until the client gives up).
func (r *Receiver) SetDelay(d time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.delay = d
}

func (r *Receiver) serve(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(req.Body, 10<<20))
	r.mu.Lock()
	n := len(r.reqs) + 1
	rec := Request{Path: req.URL.Path, Header: req.Header.Clone(), Body: body, Arrived: time.Now()}
	for _, s := range r.secrets {
		if VerifyStandardWebhook(s, req.Header, body, time.Now(), 5*time.Minute) == nil {
			rec.Verified = true
		}
	}
	r.reqs = append(r.reqs, rec)
	status, delay := r.status, r.delay
	r.mu.Unlock()
	select {
	case r.notify <- struct{}{}:
	default:
	}
	if delay > 0 {
		select {
		case <-time.After(delay):
		case <-req.Context().Done():
			return
		}
	}
	code := http.StatusOK
	if status != nil {
		code = status(n)
	}
	w.WriteHeader(code)
}

// Requests returns a copy of what arrived so far.
func (r *Receiver) Requests() []Request {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Request(nil), r.reqs...)
}

// WaitFor waits until at least n requests arrived, failing the test after
// timeout (a hang guard).
func (r *Receiver) WaitFor(tb testing.TB, n int, timeout time.Duration) []Request {
	tb.Helper()
	deadline := time.After(timeout)
	for {
		if reqs := r.Requests(); len(reqs) >= n {
			return reqs
		}
		select {
		case <-r.notify:
		case <-time.After(50 * time.Millisecond):
		case <-deadline:
			tb.Fatalf("receiver: %d requests after %s; want %d", len(r.Requests()), timeout, n)
		}
	}
}
