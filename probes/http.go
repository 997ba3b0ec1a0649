package probes

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptrace"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/statusd/statusd/data"
)

// HTTP runs one request, or a journey of several sharing a cookie jar, and
// checks each response. Build makes one from a Spec of type http or journey.
type HTTP struct {
	steps         []*step
	journey       bool // reasons name the step
	degradedAfter time.Duration
	transport     *http.Transport
	follow        bool
	maxRedirects  int
	maxBody       int64
	secrets       redactor
}

var _ Checker = (*HTTP)(nil)

// Limits on what a target can make a probe hold.
const (
	defaultMaxBody         = 1 << 20
	defaultMaxRedirects    = 5
	maxResponseHeaderBytes = 64 << 10
)

// step is one compiled request and what its response must satisfy.
type step struct {
	name          string
	method        string
	url           Template
	headers       []headerTemplate
	body          Template
	status        []statusRange
	contains      []string
	matches       []*regexp.Regexp
	json          []jsonAssertion
	captures      []capture
	degradedAfter time.Duration
}

type headerTemplate struct {
	name  string
	value Template
}

type statusRange struct{ lo, hi int }

func (r statusRange) String() string {
	if r.lo == r.hi {
		return strconv.Itoa(r.lo)
	}
	if r.lo%100 == 0 && r.hi == r.lo+99 {
		return strconv.Itoa(r.lo/100) + "xx"
	}
	return fmt.Sprintf("%d-%d", r.lo, r.hi)
}

type jsonAssertion struct {
	path    JSONPath
	equals  *string
	exists  *bool
	matches *regexp.Regexp
}

type capture struct {
	name   string
	json   *JSONPath
	header string
	regex  *regexp.Regexp
}

func (c capture) source() string {
	switch {
	case c.json != nil:
		return c.json.String()
	case c.header != "":
		return "header " + c.header
	}
	return "/" + c.regex.String() + "/"
}

func newTransport(insecure bool, roots *x509.CertPool) *http.Transport {
	return &http.Transport{
		Proxy:       nil, // a probe measures the target, not a proxy from the environment
		DialContext: (&net.Dialer{KeepAlive: 30 * time.Second}).DialContext,
		TLSClientConfig: &tls.Config{
			InsecureSkipVerify: insecure, //nolint:gosec // only when the probe's configuration asks for it
			RootCAs:            roots,
			MinVersion:         tls.VersionTLS12,
		},
		ForceAttemptHTTP2:      true,
		MaxIdleConns:           4,
		MaxIdleConnsPerHost:    2,
		IdleConnTimeout:        90 * time.Second,
		MaxResponseHeaderBytes: maxResponseHeaderBytes,
	}
}

// Close drops idle connections.
func (h *HTTP) Close() { h.transport.CloseIdleConnections() }

// Check runs the steps in order with a fresh cookie jar, stopping at the
// first that is down. A journey's latency is the time of all its steps.
func (h *HTTP) Check(ctx context.Context) Check {
	start := time.Now()
	client := &http.Client{Transport: h.transport, CheckRedirect: h.checkRedirect}
	if h.journey || h.follow {
		// Steps (and redirects) share cookies within a run, never across.
		client.Jar, _ = cookiejar.New(nil) // never fails without options
	}
	vars := map[string]string{}
	res := up()
	for i, st := range h.steps {
		c := st.run(ctx, client, vars, h.maxBody, start)
		if c.Outcome == data.ProbeUp {
			continue
		}
		if h.journey {
			c.Step = st.name
			c.Reason = fmt.Sprintf("step %d %q %s", i+1, st.name, c.Reason)
		}
		c.Reason = h.secrets.apply(c.Reason)
		if c.Outcome == data.ProbeDown {
			return c
		}
		if res.Outcome == data.ProbeUp {
			res = c // the first degraded step is the reason
		}
	}
	if took := time.Since(start); res.Outcome == data.ProbeUp && h.degradedAfter > 0 && took > h.degradedAfter {
		what := "responded in"
		if h.journey {
			what = "took"
		}
		res = Check{Outcome: data.ProbeDegraded, Reason: fmt.Sprintf("slow: %s %s, over %s", what, roundDuration(took), h.degradedAfter)}
	}
	return res
}

func (h *HTTP) checkRedirect(_ *http.Request, via []*http.Request) error {
	if !h.follow {
		return http.ErrUseLastResponse
	}
	if len(via) > h.maxRedirects {
		return &redirectError{max: h.maxRedirects}
	}
	return nil
}

// phases of a request, for timeout reasons.
const (
	phaseConnect int32 = iota
	phaseTLS
	phaseSend
	phaseHeaders
	phaseBody
)

var phaseNames = [...]string{"connecting", "in the TLS handshake", "sending the request", "waiting for response headers", "reading the body"}

func (st *step) run(ctx context.Context, client *http.Client, vars map[string]string, maxBody int64, runStart time.Time) Check {
	var phase atomic.Int32
	trace := &httptrace.ClientTrace{
		ConnectStart:         func(string, string) { phase.Store(phaseConnect) },
		TLSHandshakeStart:    func() { phase.Store(phaseTLS) },
		GotConn:              func(httptrace.GotConnInfo) { phase.Store(phaseSend) },
		WroteRequest:         func(httptrace.WroteRequestInfo) { phase.Store(phaseHeaders) },
		GotFirstResponseByte: func() { phase.Store(phaseHeaders) },
	}
	var body io.Reader
	if !st.body.IsZero() {
		body = strings.NewReader(st.body.expand(vars))
	}
	req, err := http.NewRequestWithContext(httptrace.WithClientTrace(ctx, trace), st.method, st.url.expand(vars), body)
	if err != nil {
		return down("cannot build the request: " + shortError(err))
	}
	req.Header.Set("User-Agent", "statusd-probe")
	for _, hd := range st.headers {
		v := hd.value.expand(vars)
		if strings.EqualFold(hd.name, "Host") {
			req.Host = v
			continue
		}
		req.Header.Add(hd.name, v)
	}
	start := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		return down(describe(err, phaseNames[phase.Load()], timeoutOf(ctx, runStart)))
	}
	defer resp.Body.Close()
	phase.Store(phaseBody)
	if !st.statusOK(resp.StatusCode) {
		return down(fmt.Sprintf("returned %d (want %s)", resp.StatusCode, st.statusWant()))
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		return down(describe(err, phaseNames[phaseBody], timeoutOf(ctx, runStart)))
	}
	if int64(len(b)) > maxBody {
		return down((&bodyTooLargeError{max: maxBody}).Error())
	}
	took := time.Since(start)
	for _, s := range st.contains {
		if !bytes.Contains(b, []byte(s)) {
			return down(fmt.Sprintf("body does not contain %q", clip(s, 100)))
		}
	}
	for _, re := range st.matches {
		if !re.Match(b) {
			return down(fmt.Sprintf("body does not match /%s/", clip(re.String(), 100)))
		}
	}
	var doc any
	if st.needsJSON() {
		doc, err = decodeJSON(b)
		if err != nil {
			return down("body is not JSON: " + clip(err.Error(), 100))
		}
	}
	for _, a := range st.json {
		if c, ok := a.check(doc); !ok {
			return c
		}
	}
	for _, c := range st.captures {
		v, ok := c.extract(doc, resp.Header, b)
		if !ok {
			return down(fmt.Sprintf("could not capture %s: %s not found", c.name, c.source()))
		}
		vars[c.name] = v
	}
	if st.degradedAfter > 0 && took > st.degradedAfter {
		return Check{Outcome: data.ProbeDegraded, Reason: fmt.Sprintf("slow: responded in %s, over %s", roundDuration(took), st.degradedAfter)}
	}
	return up()
}

func (st *step) statusOK(code int) bool {
	for _, r := range st.status {
		if code >= r.lo && code <= r.hi {
			return true
		}
	}
	return false
}

func (st *step) statusWant() string {
	parts := make([]string, len(st.status))
	for i, r := range st.status {
		parts[i] = r.String()
	}
	return strings.Join(parts, ", ")
}

func (st *step) needsJSON() bool {
	if len(st.json) > 0 {
		return true
	}
	for _, c := range st.captures {
		if c.json != nil {
			return true
		}
	}
	return false
}

func (a jsonAssertion) check(doc any) (Check, bool) {
	vals := a.path.Select(doc)
	if a.exists != nil {
		if *a.exists && len(vals) == 0 {
			return down(a.path.String() + " not found"), false
		}
		if !*a.exists && len(vals) > 0 {
			return down(a.path.String() + " is present"), false
		}
	}
	if a.equals == nil && a.matches == nil {
		return Check{}, true
	}
	if len(vals) == 0 {
		return down(a.path.String() + " not found"), false
	}
	for _, v := range vals {
		t := jsonText(v)
		if (a.equals == nil || t == *a.equals) && (a.matches == nil || a.matches.MatchString(t)) {
			return Check{}, true
		}
	}
	got := clip(jsonText(vals[0]), 100)
	if a.equals != nil {
		return down(fmt.Sprintf("%s is %q (want %q)", a.path.String(), got, clip(*a.equals, 100))), false
	}
	return down(fmt.Sprintf("%s is %q (want /%s/)", a.path.String(), got, clip(a.matches.String(), 100))), false
}

func (c capture) extract(doc any, h http.Header, body []byte) (string, bool) {
	switch {
	case c.json != nil:
		vals := c.json.Select(doc)
		if len(vals) == 0 {
			return "", false
		}
		return jsonText(vals[0]), true
	case c.header != "":
		v := h.Get(c.header)
		return v, v != ""
	}
	m := c.regex.FindSubmatch(body)
	if m == nil {
		return "", false
	}
	if len(m) > 1 {
		return string(m[1]), true
	}
	return string(m[0]), true
}
