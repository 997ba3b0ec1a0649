package probes

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/statusd/statusd/data"
)

var bg = context.Background()

// run builds a spec (failing the test on a bad one) and runs it once with
// timeout.
func run(t *testing.T, s Spec, timeout time.Duration, env map[string]string) Check {
	t.Helper()
	if s.Interval == 0 {
		s.Interval = time.Minute
	}
	if s.Timeout == 0 {
		s.Timeout = timeout
	}
	if s.ID == "" {
		s.ID = "p"
	}
	p, err := Build(s, BuildOptions{Getenv: func(k string) string { return env[k] }})
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	ctx, cancel := context.WithTimeout(bg, timeout)
	defer cancel()
	done := make(chan Check, 1)
	go func() { done <- p.Checker.Check(ctx) }()
	select {
	case c := <-done:
		return c
	case <-time.After(timeout + 10*time.Second): // hang guard only
		t.Fatalf("check did not return within its timeout (%s)", timeout)
		return Check{}
	}
}

func httpSpec(url string, f func(*StepSpec)) Spec {
	st := StepSpec{URL: url}
	if f != nil {
		f(&st)
	}
	return Spec{Type: TypeHTTP, Steps: []StepSpec{st}}
}

func wantCheck(t *testing.T, got Check, outcome data.ProbeOutcome, reasonHas string) {
	t.Helper()
	if got.Outcome != outcome || !strings.Contains(got.Reason, reasonHas) {
		t.Errorf("check = %s %q; want %s with %q", got.Outcome, got.Reason, outcome, reasonHas)
	}
}

// flip is an HTTP target switched healthy, failing or slow by the test.
type flip struct {
	mode atomic.Value // "ok", "fail", "slow"
}

func (f *flip) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch f.mode.Load() {
	case "fail":
		http.Error(w, "down", http.StatusBadGateway)
		return
	case "slow":
		time.Sleep(150 * time.Millisecond)
	}
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprint(w, `{"status":"ok","items":[{"id":7,"name":"tent"},{"id":9,"name":"stove"}],"build":"v1.2.3"}`)
}

func TestHTTPAssertions(t *testing.T) {
	f := &flip{}
	f.mode.Store("ok")
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	eq := func(s string) *string { return &s }
	yes, no := true, false
	tests := []struct {
		name    string
		mode    string
		step    func(*StepSpec)
		degr    time.Duration
		outcome data.ProbeOutcome
		reason  string
	}{
		{"healthy", "ok", nil, 0, data.ProbeUp, ""},
		{"failing", "fail", nil, 0, data.ProbeDown, "returned 502 (want 2xx)"},
		{"status list", "fail", func(s *StepSpec) { s.Status = []string{"200", "5xx"} }, 0, data.ProbeUp, ""},
		{"status range", "ok", func(s *StepSpec) { s.Status = []string{"201-204"} }, 0, data.ProbeDown, "returned 200 (want 201-204)"},
		{"contains", "ok", func(s *StepSpec) { s.BodyContains = []string{`"status":"ok"`} }, 0, data.ProbeUp, ""},
		{"contains missing", "ok", func(s *StepSpec) { s.BodyContains = []string{"sleeping bag"} }, 0, data.ProbeDown, `body does not contain "sleeping bag"`},
		{"regex", "ok", func(s *StepSpec) { s.BodyMatches = []string{`"build":"v\d+\.\d+`} }, 0, data.ProbeUp, ""},
		{"regex missing", "ok", func(s *StepSpec) { s.BodyMatches = []string{`^<html`} }, 0, data.ProbeDown, "body does not match /^<html/"},
		{"json equals", "ok", func(s *StepSpec) { s.JSON = []JSONSpec{{Path: "$.status", Equals: eq("ok")}} }, 0, data.ProbeUp, ""},
		{"json any of", "ok", func(s *StepSpec) { s.JSON = []JSONSpec{{Path: "$.items[*].name", Equals: eq("stove")}} }, 0, data.ProbeUp, ""},
		{"json index", "ok", func(s *StepSpec) { s.JSON = []JSONSpec{{Path: "$.items[-1].id", Equals: eq("9")}} }, 0, data.ProbeUp, ""},
		{"json wrong", "ok", func(s *StepSpec) { s.JSON = []JSONSpec{{Path: "$.status", Equals: eq("green")}} }, 0, data.ProbeDown, `$.status is "ok" (want "green")`},
		{"json missing", "ok", func(s *StepSpec) { s.JSON = []JSONSpec{{Path: "$.version", Exists: &yes}} }, 0, data.ProbeDown, "$.version not found"},
		{"json absent", "ok", func(s *StepSpec) { s.JSON = []JSONSpec{{Path: "$.error", Exists: &no}} }, 0, data.ProbeUp, ""},
		{"json matches", "ok", func(s *StepSpec) { s.JSON = []JSONSpec{{Path: "$.build", Matches: `^v1\.`}} }, 0, data.ProbeUp, ""},
		{"not json", "fail", func(s *StepSpec) {
			s.Status = []string{"502"}
			s.JSON = []JSONSpec{{Path: "$.status", Equals: eq("ok")}}
		}, 0, data.ProbeDown, "body is not JSON"},
		{"slow is degraded", "slow", nil, 50 * time.Millisecond, data.ProbeDegraded, "slow: responded in"},
		{"step slow is degraded", "slow", func(s *StepSpec) { s.DegradedAfter = 50 * time.Millisecond }, 0, data.ProbeDegraded, "over 50ms"},
		{"slow and failing is down", "fail", nil, time.Nanosecond, data.ProbeDown, "returned 502"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f.mode.Store(tt.mode)
			s := httpSpec(srv.URL+"/healthz", tt.step)
			s.DegradedAfter = tt.degr
			wantCheck(t, run(t, s, 5*time.Second, nil), tt.outcome, tt.reason)
		})
	}
}

func TestHTTPMethodHeadersBodyAndSecrets(t *testing.T) {
	const secret = "s3cr3t-t0ken"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if r.Method != http.MethodPost || r.Header.Get("Authorization") != "Bearer "+secret || string(b) != `{"password":"`+secret+`"}` {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		// A target that reflects what it was sent must not get the
		// secret into the reason.
		fmt.Fprintf(w, `{"echo":"Bearer %s"}`, secret)
	}))
	t.Cleanup(srv.Close)
	eq := "something else"
	s := httpSpec(srv.URL, func(st *StepSpec) {
		st.Method = "post"
		st.Headers = []HeaderSpec{{"Authorization", "Bearer ${env:API_TOKEN}"}}
		st.Body = `{"password":"${env:API_TOKEN}"}`
		st.JSON = []JSONSpec{{Path: "$.echo", Equals: &eq}}
	})
	got := run(t, s, 5*time.Second, map[string]string{"API_TOKEN": secret})
	if got.Outcome != data.ProbeDown || strings.Contains(got.Reason, secret) || !strings.Contains(got.Reason, "[secret]") {
		t.Errorf("check = %s %q; want down with the secret redacted", got.Outcome, got.Reason)
	}
	// Unset secret: Build refuses.
	_, err := Build(Spec{ID: "p", Type: TypeHTTP, Interval: time.Minute, Timeout: time.Second, Steps: s.Steps}, BuildOptions{Getenv: func(string) string { return "" }})
	if err == nil || !strings.Contains(err.Error(), "API_TOKEN is not set") {
		t.Errorf("Build with unset secret = %v", err)
	}
}

func TestHTTPRedirects(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/loop", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/loop", http.StatusFound) })
	mux.HandleFunc("/old", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/new", http.StatusMovedPermanently) })
	mux.HandleFunc("/new", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "new home") })
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)

	s := httpSpec(srv.URL+"/old", func(st *StepSpec) { st.BodyContains = []string{"new home"} })
	s.FollowRedirects = true
	wantCheck(t, run(t, s, 5*time.Second, nil), data.ProbeUp, "")

	s = httpSpec(srv.URL+"/old", func(st *StepSpec) { st.Status = []string{"301"} })
	wantCheck(t, run(t, s, 5*time.Second, nil), data.ProbeUp, "")

	s = httpSpec(srv.URL+"/old", nil)
	wantCheck(t, run(t, s, 5*time.Second, nil), data.ProbeDown, "returned 301 (want 2xx)")

	s = httpSpec(srv.URL+"/loop", nil)
	s.FollowRedirects, s.MaxRedirects = true, 3
	wantCheck(t, run(t, s, 5*time.Second, nil), data.ProbeDown, "stopped after 3 redirects")
}

// hostile starts a raw TCP server that handles each connection with fn.
func hostile(t *testing.T, fn func(net.Conn)) string { return hostileConn(t, true, fn) }

// hostileConn is hostile, reading the request first only if drain is set.
func hostileConn(t *testing.T, drain bool, fn func(net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	t.Cleanup(func() { close(done); _ = ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				// Drain the request line and headers first.
				br := bufio.NewReader(c)
				for drain {
					l, err := br.ReadString('\n')
					if err != nil || l == "\r\n" {
						break
					}
				}
				go func() { <-done; _ = c.Close() }()
				fn(c)
			}()
		}
	}()
	return ln.Addr().String()
}

func TestHTTPHostileTargets(t *testing.T) {
	const timeout = 700 * time.Millisecond
	silent := hostile(t, func(c net.Conn) { time.Sleep(time.Minute) })
	trickle := hostile(t, func(c net.Conn) {
		for _, b := range []byte("HTTP/1.1 200 OK\r\nX-Slow: 1111111111111111111\r\n") {
			if _, err := c.Write([]byte{b}); err != nil {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
	})
	endless := hostile(t, func(c net.Conn) {
		_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n")
		chunk := []byte(strings.Repeat("x", 32<<10))
		for {
			if _, err := c.Write(chunk); err != nil {
				return
			}
		}
	})
	hugeHeader := hostile(t, func(c net.Conn) {
		_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nX-Big: ")
		chunk := []byte(strings.Repeat("y", 32<<10))
		for {
			if _, err := c.Write(chunk); err != nil {
				return
			}
		}
	})
	reset := hostile(t, func(c net.Conn) {
		_ = c.(*net.TCPConn).SetLinger(0) // close with RST
	})
	slowBody := hostile(t, func(c net.Conn) {
		_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n")
		for range 1000 {
			if _, err := c.Write([]byte("z")); err != nil {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
	})
	// A port nobody listens on.
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	closed := ln.Addr().String()
	_ = ln.Close()

	tests := []struct {
		name, addr, reason string
	}{
		{"never answers", silent, "timed out after 700ms waiting for response headers"},
		{"trickles headers", trickle, "timed out after 700ms waiting for response headers"},
		{"endless body", endless, "response body is larger than 64 KiB"},
		{"endless header", hugeHeader, "failed waiting for response headers"},
		{"connection reset", reset, "connection reset by peer"},
		{"trickles body", slowBody, "timed out after 700ms reading the body"},
		{"refused", closed, "connection refused"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := httpSpec("http://"+tt.addr+"/", nil)
			s.MaxBodyBytes = 64 << 10
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			got := run(t, s, timeout, nil)
			runtime.ReadMemStats(&after)
			if got.Outcome != data.ProbeDown || !strings.Contains(got.Reason, tt.reason) {
				t.Errorf("check = %s %q; want down with %q", got.Outcome, got.Reason, tt.reason)
			}
			// What a target sends is bounded by the body and header
			// limits, whatever it sends (other tests' goroutines add a
			// little).
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 8<<20 {
				t.Errorf("the check allocated %d bytes", alloc)
			}
		})
	}
}

func TestHTTPCertificates(t *testing.T) {
	ca := newCA(t)
	now := time.Now()
	serve := func(cert tls.Certificate) string {
		srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "ok") }))
		srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
		srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the failed handshakes are the point
		srv.StartTLS()
		t.Cleanup(srv.Close)
		return strings.Replace(srv.URL, "127.0.0.1", "localhost", 1)
	}
	good := serve(ca.leaf(t, []string{"localhost"}, now.Add(-time.Hour), now.Add(90*24*time.Hour)))
	expired := serve(ca.leaf(t, []string{"localhost"}, now.Add(-90*24*time.Hour), now.Add(-24*time.Hour)))
	wrongHost := serve(ca.leaf(t, []string{"shop.fernhill.example"}, now.Add(-time.Hour), now.Add(90*24*time.Hour)))
	selfSigned := serve((*testCA)(nil).leaf(t, []string{"localhost"}, now.Add(-time.Hour), now.Add(90*24*time.Hour)))

	check := func(url string, insecure bool) Check {
		p, err := Build(Spec{ID: "p", Type: TypeHTTP, Interval: time.Minute, Timeout: 5 * time.Second, InsecureSkipVerify: insecure,
			Steps: []StepSpec{{URL: url}}}, BuildOptions{RootCAs: ca.pool})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(bg, 5*time.Second)
		defer cancel()
		return p.Checker.Check(ctx)
	}
	wantCheck(t, check(good, false), data.ProbeUp, "")
	wantCheck(t, check(expired, false), data.ProbeDown, "certificate expired on "+now.Add(-24*time.Hour).UTC().Format(time.DateOnly))
	wantCheck(t, check(wrongHost, false), data.ProbeDown, "certificate is not valid for localhost (it is for shop.fernhill.example)")
	wantCheck(t, check(selfSigned, false), data.ProbeDown, "certificate is self-signed and not trusted")
	wantCheck(t, check(selfSigned, true), data.ProbeUp, "")
	wantCheck(t, check(expired, true), data.ProbeUp, "")
}

// shop is a small journey target: login sets a session cookie and returns a
// token, search needs both, pay fails when told to.
func shop(t *testing.T, payStatus *atomic.Int32) *httptest.Server {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		http.SetCookie(w, &http.Cookie{Name: "session", Value: "abc123", Path: "/"})
		w.Header().Set("X-Basket", "b-42")
		fmt.Fprint(w, `{"token":"tok-1"}`)
	})
	mux.HandleFunc("GET /search", func(w http.ResponseWriter, r *http.Request) {
		c, err := r.Cookie("session")
		if err != nil || c.Value != "abc123" || r.Header.Get("Authorization") != "Bearer tok-1" {
			http.Error(w, "no session", http.StatusUnauthorized)
			return
		}
		fmt.Fprint(w, `<li data-sku="sku-889">Tent</li>`)
	})
	mux.HandleFunc("POST /basket/{id}/items", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if r.PathValue("id") != "b-42" || string(b) != `{"sku":"sku-889"}` {
			http.Error(w, "bad basket", http.StatusBadRequest)
			return
		}
		fmt.Fprint(w, `{"ok":true}`)
	})
	mux.HandleFunc("POST /pay", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(int(payStatus.Load()))
		fmt.Fprint(w, `{"paid":true}`)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func journeySpec(base string) Spec {
	return Spec{ID: "checkout", Name: "Checkout", Type: TypeJourney, Steps: []StepSpec{
		{Name: "login", Method: "POST", URL: base + "/login", Captures: []CaptureSpec{{Name: "token", JSON: "$.token"}, {Name: "basket", Header: "X-Basket"}}},
		{Name: "search", URL: base + "/search?q=tent", Headers: []HeaderSpec{{"Authorization", "Bearer ${token}"}},
			Captures: []CaptureSpec{{Name: "sku", Regex: `data-sku="([^"]+)"`}}},
		{Name: "add", Method: "POST", URL: base + "/basket/${basket}/items", Body: `{"sku":"${sku}"}`},
		{Name: "pay", Method: "POST", URL: base + "/pay", BodyContains: []string{"paid"}},
	}}
}

func TestJourney(t *testing.T) {
	var pay atomic.Int32
	pay.Store(200)
	srv := shop(t, &pay)
	s := journeySpec(srv.URL)
	wantCheck(t, run(t, s, 5*time.Second, nil), data.ProbeUp, "")

	pay.Store(502)
	got := run(t, s, 5*time.Second, nil)
	wantCheck(t, got, data.ProbeDown, `step 4 "pay" returned 502 (want 2xx)`)
	if got.Step != "pay" {
		t.Errorf("step = %q; want pay", got.Step)
	}

	// A capture that finds nothing fails its step.
	pay.Store(200)
	s.Steps[1].Captures[0].Regex = `data-id="([^"]+)"`
	wantCheck(t, run(t, s, 5*time.Second, nil), data.ProbeDown, `step 2 "search" could not capture sku: /data-id="([^"]+)"/ not found`)
}

func TestTCP(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			_ = c.Close()
		}
	}()
	wantCheck(t, run(t, Spec{Type: TypeTCP, Target: addr}, 5*time.Second, nil), data.ProbeUp, "")
	_ = ln.Close()
	wantCheck(t, run(t, Spec{Type: TypeTCP, Target: addr}, 5*time.Second, nil), data.ProbeDown, "connection refused")
}

func TestTLSCertificateChecker(t *testing.T) {
	ca := newCA(t)
	now := time.Now()
	day := 24 * time.Hour
	tests := []struct {
		name    string
		ca      *testCA
		names   []string
		from    time.Time
		until   time.Time
		outcome data.ProbeOutcome
		reason  string
	}{
		{"valid", ca, []string{"localhost"}, now.Add(-day), now.Add(60 * day), data.ProbeUp, ""},
		{"expires soon", ca, []string{"localhost"}, now.Add(-day), now.Add(5*day + time.Hour), data.ProbeDegraded, "certificate expires in 5 days (" + now.Add(5*day+time.Hour).UTC().Format(time.DateOnly) + ")"},
		{"expired", ca, []string{"localhost"}, now.Add(-60 * day), now.Add(-2 * day), data.ProbeDown, "certificate expired on"},
		{"not yet valid", ca, []string{"localhost"}, now.Add(2 * day), now.Add(60 * day), data.ProbeDown, "certificate is not valid before"},
		{"wrong host", ca, []string{"pay.fernhill.example"}, now.Add(-day), now.Add(60 * day), data.ProbeDown, "certificate is not valid for localhost"},
		{"untrusted", nil, []string{"localhost"}, now.Add(-day), now.Add(60 * day), data.ProbeDown, "self-signed and not trusted"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addr := tlsListener(t, tt.ca.leaf(t, tt.names, tt.from, tt.until))
			_, port, _ := net.SplitHostPort(addr)
			c := &TLS{Address: net.JoinHostPort("localhost", port), ExpiryWarning: 14 * day, RootCAs: ca.pool}
			ctx, cancel := context.WithTimeout(bg, 5*time.Second)
			defer cancel()
			wantCheck(t, c.Check(ctx), tt.outcome, tt.reason)
		})
	}
	// Not TLS at all.
	plain := hostileConn(t, false, func(c net.Conn) { _, _ = io.WriteString(c, "HTTP/1.1 400 Bad Request\r\n\r\n") })
	ctx, cancel := context.WithTimeout(bg, 5*time.Second)
	defer cancel()
	wantCheck(t, (&TLS{Address: plain, RootCAs: ca.pool}).Check(ctx), data.ProbeDown, "TLS handshake failed")
}
