package notifier

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// WebhookOptions configure a WebhookSender. Zero values take the defaults
// noted.
type WebhookOptions struct {
	Allow       Allowlist     // internal ranges an operator allows; none by default
	Resolver    *net.Resolver // nil for the system's
	Timeout     time.Duration // whole attempt, connect to last byte; 10s
	MaxResponse int64         // bytes of the response read (and discarded); 64 KiB
	UserAgent   string        // "statusd-webhooks"
	TLSConfig   *tls.Config   // for tests; nil for the system roots
	Now         func() time.Time
}

// WebhookSender posts signed messages to webhook endpoints. Every connection
// goes through Allowlist.Control, so no resolution trick reaches an internal
// address; redirects are not followed (a 3xx is a failure, as Statuspage
// treats it); at most MaxResponse bytes of an answer are read.
type WebhookSender struct {
	client *http.Client
	o      WebhookOptions
}

// NewWebhookSender returns a sender with its own connection pool.
func NewWebhookSender(o WebhookOptions) *WebhookSender {
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Second
	}
	if o.MaxResponse <= 0 {
		o.MaxResponse = 64 << 10
	}
	if o.UserAgent == "" {
		o.UserAgent = "statusd-webhooks"
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	d := o.Allow.Dialer(o.Timeout, o.Resolver)
	tr := &http.Transport{
		// Never a proxy from the environment: the dialer would then check
		// the proxy's address instead of the endpoint's.
		Proxy:                  nil,
		DialContext:            d.DialContext,
		TLSClientConfig:        o.TLSConfig,
		TLSHandshakeTimeout:    o.Timeout,
		ResponseHeaderTimeout:  o.Timeout,
		ExpectContinueTimeout:  time.Second,
		MaxIdleConns:           1000,
		MaxIdleConnsPerHost:    32,
		IdleConnTimeout:        90 * time.Second,
		ForceAttemptHTTP2:      true,
		MaxResponseHeaderBytes: 32 << 10,
	}
	return &WebhookSender{o: o, client: &http.Client{
		Transport: tr,
		Timeout:   o.Timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}}
}

// Close drops idle connections.
func (w *WebhookSender) Close() { w.client.CloseIdleConnections() }

// WebhookRequest is one message to one endpoint.
type WebhookRequest struct {
	URL         string
	ID          string   // webhook-id: the delivery key, the same on every retry
	Keys        [][]byte // signing keys; none for Slack and Teams formats
	Body        []byte
	ContentType string // application/json if empty
}

// Send posts r once. A nil error means the endpoint answered 2xx. Otherwise
// the error is a *SendError: Gone for 410, HostFault for no answer, a
// timeout, 429 or 5xx.
func (w *WebhookSender) Send(ctx context.Context, r WebhookRequest) error {
	ctx, cancel := context.WithTimeout(ctx, w.o.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.URL, bytes.NewReader(r.Body))
	if err != nil {
		return &SendError{Permanent: true, Reason: "invalid webhook URL", Err: err}
	}
	ct := r.ContentType
	if ct == "" {
		ct = "application/json"
	}
	req.Header.Set("Content-Type", ct)
	req.Header.Set("User-Agent", w.o.UserAgent)
	if len(r.Keys) > 0 {
		SignHeaders(req.Header, r.Keys, r.ID, w.o.Now(), r.Body)
	} else {
		req.Header.Set("webhook-id", r.ID)
	}
	resp, err := w.client.Do(req)
	if err != nil {
		return classifyTransportError(ctx, err)
	}
	// Read a bounded amount so the connection can be reused; a body larger
	// than that is not worth the wait.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, w.o.MaxResponse)) // the status decides
	_ = resp.Body.Close()                                                  // nothing to do about a failed close
	code := resp.StatusCode
	switch {
	case code >= 200 && code < 300:
		return nil
	case code == http.StatusGone:
		return &SendError{Gone: true, Code: code, Reason: "endpoint answered 410 Gone"}
	case code == http.StatusTooManyRequests || code >= 500:
		return &SendError{HostFault: true, Code: code, RetryAfter: parseRetryAfter(resp.Header.Get("Retry-After"), w.o.Now()),
			Reason: "endpoint answered " + strconv.Itoa(code)}
	case code >= 300 && code < 400:
		return &SendError{Code: code, Reason: "endpoint answered " + strconv.Itoa(code) + " (redirects are not followed)"}
	}
	return &SendError{Code: code, Reason: "endpoint answered " + strconv.Itoa(code)}
}

func classifyTransportError(ctx context.Context, err error) error {
	if errors.Is(err, ErrForbiddenAddress) {
		return &SendError{Permanent: true, Reason: "endpoint resolves to an address that is not on the public internet"}
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	if errors.Is(err, context.Canceled) && ctx.Err() != nil {
		return err // shutting down: not the endpoint's fault
	}
	var dnsErr *net.DNSError
	switch {
	case errors.As(err, &dnsErr):
		return &SendError{HostFault: true, Reason: "endpoint host could not be resolved", Err: err}
	case errors.Is(err, context.DeadlineExceeded) || isTimeout(err):
		return &SendError{HostFault: true, Reason: "endpoint timed out", Err: err}
	}
	var tlsErr *tls.CertificateVerificationError
	if errors.As(err, &tlsErr) {
		return &SendError{HostFault: true, Reason: "endpoint's TLS certificate is not valid", Err: err}
	}
	return &SendError{HostFault: true, Reason: "connection to endpoint failed", Err: err}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// parseRetryAfter reads a Retry-After header (seconds or an HTTP date),
// capped at a day.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	var d time.Duration
	if n, err := strconv.ParseInt(v, 10, 64); err == nil && n > 0 {
		if n > 86400 {
			n = 86400
		}
		d = time.Duration(n) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		d = t.Sub(now)
	}
	if d < 0 {
		return 0
	}
	return min(d, 24*time.Hour)
}

// hostKey names the breaker of a URL's host: scheme, host and port.
func hostKey(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
	}
	return u.Scheme + "://" + net.JoinHostPort(u.Hostname(), port)
}

// String is for logs: scheme and host only, never the path (Slack and Teams
// URLs carry their secret in the path).
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(invalid URL)"
	}
	return fmt.Sprintf("%s://%s/…", u.Scheme, u.Host)
}
