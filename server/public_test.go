package server

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/andybalholm/brotli"
	"github.com/valyala/fasthttp"

	"github.com/statusd/statusd/data"
)

// listen serves srv on a real loopback listener for the test's duration.
func listen(t *testing.T, srv *Server) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		<-done
	})
	return "http://" + ln.Addr().String()
}

// client does not decompress, so tests see the encoding the server chose.
var client = &http.Client{Transport: &http.Transport{DisableCompression: true}, Timeout: 10 * time.Second}

func get(t *testing.T, method, url string, hdr map[string]string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}

func TestPublicCaching(t *testing.T) {
	srv, _ := newFixtureServer(t)
	base := listen(t, srv)

	resp, plain := get(t, "GET", base+"/", nil)
	if resp.StatusCode != 200 {
		t.Fatalf("GET / = %d", resp.StatusCode)
	}
	etag := resp.Header.Get("ETag")
	lastMod := resp.Header.Get("Last-Modified")
	wantHeaders := map[string]string{
		"Cache-Control":          "public, max-age=30, stale-while-revalidate=60, stale-if-error=86400",
		"Cdn-Cache-Control":      "public, max-age=60, stale-while-revalidate=60, stale-if-error=86400",
		"Surrogate-Control":      "max-age=60, stale-while-revalidate=60, stale-if-error=86400",
		"Vary":                   "Accept-Encoding",
		"Content-Type":           "text/html; charset=utf-8",
		"X-Content-Type-Options": "nosniff",
		"Referrer-Policy":        "strict-origin-when-cross-origin",
		"X-Frame-Options":        "DENY",
		"Surrogate-Key":          "statusd page html",
		"Cache-Tag":              "statusd,page,html",
	}
	for k, v := range wantHeaders {
		if got := resp.Header.Get(k); got != v {
			t.Errorf("%s = %q; want %q", k, got, v)
		}
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'none'") || strings.Contains(csp, "unsafe-inline") {
		t.Errorf("CSP = %q", csp)
	}
	if !strings.HasPrefix(etag, `"`) || strings.HasPrefix(etag, "W/") || lastMod == "" {
		t.Errorf("ETag %q, Last-Modified %q: want a strong ETag and a date", etag, lastMod)
	}
	if c := resp.Header.Values("Set-Cookie"); len(c) > 0 {
		t.Errorf("Set-Cookie sent: %v", c)
	}
	if strings.Contains(resp.Header.Get("Cache-Control"), "s-maxage") {
		t.Error("s-maxage forbids serving stale on error; use CDN-Cache-Control")
	}

	t.Run("If-None-Match", func(t *testing.T) {
		resp, body := get(t, "GET", base+"/", map[string]string{"If-None-Match": `"other", ` + etag})
		if resp.StatusCode != 304 || len(body) != 0 || resp.Header.Get("ETag") != etag {
			t.Errorf("conditional GET = %d with %d bytes, ETag %q; want 304, empty, %q", resp.StatusCode, len(body), resp.Header.Get("ETag"), etag)
		}
		if resp.Header.Get("Cache-Control") == "" {
			t.Error("304 without Cache-Control")
		}
		resp, _ = get(t, "GET", base+"/", map[string]string{"If-None-Match": `"stale"`})
		if resp.StatusCode != 200 {
			t.Errorf("non-matching If-None-Match = %d; want 200", resp.StatusCode)
		}
	})
	t.Run("If-Modified-Since", func(t *testing.T) {
		resp, _ := get(t, "GET", base+"/", map[string]string{"If-Modified-Since": lastMod})
		if resp.StatusCode != 304 {
			t.Errorf("If-Modified-Since = %d; want 304", resp.StatusCode)
		}
		old := time.Unix(0, 0).UTC().Format(http.TimeFormat)
		resp, _ = get(t, "GET", base+"/", map[string]string{"If-Modified-Since": old})
		if resp.StatusCode != 200 {
			t.Errorf("old If-Modified-Since = %d; want 200", resp.StatusCode)
		}
		resp, _ = get(t, "GET", base+"/", map[string]string{"If-Modified-Since": "garbage"})
		if resp.StatusCode != 200 {
			t.Errorf("bad If-Modified-Since = %d; want 200", resp.StatusCode)
		}
	})
	t.Run("HEAD", func(t *testing.T) {
		resp, body := get(t, "HEAD", base+"/", nil)
		if resp.StatusCode != 200 || len(body) != 0 || resp.Header.Get("ETag") != etag {
			t.Errorf("HEAD = %d, %d bytes, ETag %q", resp.StatusCode, len(body), resp.Header.Get("ETag"))
		}
		if resp.ContentLength != int64(len(plain)) {
			t.Errorf("HEAD Content-Length = %d; want %d", resp.ContentLength, len(plain))
		}
	})
	t.Run("encodings", func(t *testing.T) {
		tests := []struct {
			accept, want string
		}{
			{"gzip, deflate, br", "br"},
			{"gzip", "gzip"},
			{"br;q=0, gzip;q=0.5", "gzip"},
			{"gzip;q=0, br;q=0", ""},
			{"identity", ""},
			{"*", "br"},
			{"*;q=0", ""},
			{"", ""},
			{"GZIP", "gzip"},
		}
		for _, tt := range tests {
			resp, body := get(t, "GET", base+"/", map[string]string{"Accept-Encoding": tt.accept})
			if got := resp.Header.Get("Content-Encoding"); got != tt.want {
				t.Errorf("Accept-Encoding %q: Content-Encoding %q; want %q", tt.accept, got, tt.want)
				continue
			}
			var dec []byte
			var err error
			switch tt.want {
			case "br":
				dec, err = io.ReadAll(brotli.NewReader(bytes.NewReader(body)))
			case "gzip":
				var zr *gzip.Reader
				if zr, err = gzip.NewReader(bytes.NewReader(body)); err == nil {
					dec, err = io.ReadAll(zr)
				}
			default:
				dec = body
			}
			if err != nil || !bytes.Equal(dec, plain) {
				t.Errorf("Accept-Encoding %q: decoded body differs from the plain one (err %v)", tt.accept, err)
			}
			if tt.want != "" && resp.Header.Get("ETag") == etag {
				t.Errorf("Accept-Encoding %q: same ETag as identity; strong ETags must differ per encoding", tt.accept)
			}
			if tt.want != "" {
				// The compressed representation's ETag also validates.
				r2, _ := get(t, "GET", base+"/", map[string]string{"Accept-Encoding": tt.accept, "If-None-Match": resp.Header.Get("ETag")})
				if r2.StatusCode != 304 {
					t.Errorf("If-None-Match with the %s ETag = %d; want 304", tt.want, r2.StatusCode)
				}
			}
		}
	})
	t.Run("JSON CORS", func(t *testing.T) {
		resp, body := get(t, "GET", base+"/api/v2/summary.json", nil)
		if resp.Header.Get("Access-Control-Allow-Origin") != "*" || resp.Header.Get("Content-Type") != "application/json; charset=utf-8" {
			t.Errorf("summary.json headers: %v", resp.Header)
		}
		if !json.Valid(body) {
			t.Error("summary.json is not JSON")
		}
	})
	t.Run("trailing slash", func(t *testing.T) {
		resp, _ := get(t, "GET", base+"/history/", nil)
		if resp.StatusCode != 200 {
			t.Errorf("/history/ = %d; want 200", resp.StatusCode)
		}
	})
	t.Run("not found", func(t *testing.T) {
		resp, body := get(t, "GET", base+"/no/such/page", nil)
		if resp.StatusCode != 404 || !strings.Contains(resp.Header.Get("Content-Type"), "text/html") || !bytes.Contains(body, []byte("<main")) {
			t.Errorf("unknown page = %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		resp, body = get(t, "GET", base+"/api/v2/nope.json", nil)
		if resp.StatusCode != 404 || !json.Valid(body) {
			t.Errorf("unknown API document = %d %q", resp.StatusCode, body)
		}
		resp, _ = get(t, "GET", base+"/incidents/nosuchthing1", nil)
		if resp.StatusCode != 404 {
			t.Errorf("unknown incident = %d", resp.StatusCode)
		}
	})
	t.Run("methods", func(t *testing.T) {
		resp, body := get(t, "POST", base+"/", nil)
		if resp.StatusCode != 405 || bytes.Contains(body, []byte("goroutine")) {
			t.Errorf("POST / = %d %q; want 405", resp.StatusCode, body)
		}
	})
	t.Run("assets immutable", func(t *testing.T) {
		resp, _ := get(t, "GET", base+srv.css.Path, map[string]string{"Accept-Encoding": "br"})
		if resp.StatusCode != 200 || resp.Header.Get("Cache-Control") != "public, max-age=31536000, immutable" ||
			!strings.HasPrefix(resp.Header.Get("Content-Type"), "text/css") {
			t.Errorf("CSS = %d %v", resp.StatusCode, resp.Header)
		}
	})
	t.Run("hostile paths", func(t *testing.T) {
		for _, p := range []string{"/%00", "/incidents/%3Cscript%3E", "/../../etc/passwd", "/api/v2/summary.json%00", "/" + strings.Repeat("a", 4000)} {
			resp, body := get(t, "GET", base+p, nil)
			if resp.StatusCode != 404 && resp.StatusCode != 400 && resp.StatusCode != 431 {
				t.Errorf("GET %s = %d; want 404 or 400", p, resp.StatusCode)
			}
			if bytes.Contains(body, []byte("<script>")) || bytes.Contains(body, []byte("goroutine")) {
				t.Errorf("GET %s reflected input or leaked internals", p)
			}
		}
	})
}

// TestSnapshotSurvivesStoreLoss closes the store under a running server: the
// page keeps being served, says its data is old, and /readyz turns 503.
func TestSnapshotSurvivesStoreLoss(t *testing.T) {
	srv, st := newFixtureServer(t)
	base := listen(t, srv)
	resp, before := get(t, "GET", base+"/api/v2/summary.json", nil)
	if resp.StatusCode != 200 {
		t.Fatal(resp.Status)
	}
	if r, _ := get(t, "GET", base+"/readyz", nil); r.StatusCode != 200 {
		t.Fatalf("readyz before = %d", r.StatusCode)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	if err := srv.Rebuild(context.Background()); err != nil {
		t.Fatalf("Rebuild with the store closed = %v; want nil (stale snapshot)", err)
	}
	resp, after := get(t, "GET", base+"/api/v2/summary.json", nil)
	if resp.StatusCode != 200 || !bytes.Equal(before, after) {
		t.Errorf("summary.json after store loss = %d, same bytes %v", resp.StatusCode, bytes.Equal(before, after))
	}
	resp, page := get(t, "GET", base+"/", nil)
	if resp.StatusCode != 200 || !bytes.Contains(page, []byte(`role="status"`)) {
		t.Errorf("page after store loss = %d; want 200 with a stale notice", resp.StatusCode)
	}
	if !bytes.Contains(page, []byte(`datetime="2026-11-20T15:30:00Z"`)) {
		t.Error("stale page does not say when its data is from")
	}
	r, body := get(t, "GET", base+"/readyz", nil)
	if r.StatusCode != 503 || !bytes.Contains(body, []byte(`"store":"unreachable"`)) {
		t.Errorf("readyz after store loss = %d %s; want 503", r.StatusCode, body)
	}
	if r, _ := get(t, "GET", base+"/healthz", nil); r.StatusCode != 200 {
		t.Errorf("healthz = %d; want 200 while serving", r.StatusCode)
	}
}

// TestRebuildOnChange runs the builder and changes a component: the API
// shows it without any request touching the store.
func TestRebuildOnChange(t *testing.T) {
	st := fixtureStore(t)
	o := fixtureOptions()
	o.Debounce = 10 * time.Millisecond
	srv, err := New(st, o)
	if err != nil {
		t.Fatal(err)
	}
	base := listen(t, srv)
	srv.Start(context.Background())
	if _, err := st.SetComponentStatus(context.Background(), data.SetStatus{ComponentID: "rest", Status: data.MajorOutage, Actor: "t"}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		_, body := get(t, "GET", base+"/api/v2/components.json", nil)
		var doc struct {
			Components []struct{ ID, Status string }
		}
		if err := json.Unmarshal(body, &doc); err != nil {
			t.Fatal(err)
		}
		for _, c := range doc.Components {
			if c.ID == "rest" && c.Status == "major_outage" {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("change never reached components.json")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestAcceptsEncoding(t *testing.T) {
	tests := []struct {
		h, c string
		want bool
	}{
		{"gzip", "gzip", true},
		{"gzip;q=0", "gzip", false},
		{"gzip ; q=0.001", "gzip", true},
		{"deflate, *", "br", true},
		{"*;q=0, gzip", "gzip", true},
		{"gzip;q=abc", "gzip", false},
		{"gzip;q=2", "gzip", false},
		{"identity", "gzip", false},
		{",,,;;;", "gzip", false},
	}
	for _, tt := range tests {
		if got := acceptsEncoding(tt.h, tt.c); got != tt.want {
			t.Errorf("acceptsEncoding(%q, %q) = %v; want %v", tt.h, tt.c, got, tt.want)
		}
	}
}

func FuzzAcceptsEncoding(f *testing.F) {
	for _, s := range []string{"gzip, deflate, br", "br;q=0", "*;q=0.5", "", ";;,", "gzip;q=1.0000000001"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		// Must not panic, and a coding never listed is accepted only via *.
		if acceptsEncoding(h, "zz-never") && !strings.Contains(h, "*") {
			t.Fatalf("accepted an unlisted coding from %q", h)
		}
	})
}

// TestA11yServer scans the pages of the real server, built from the fixture
// store (every incident and maintenance status, hostile names), with axe-core
// in headless Chromium, in light and dark.
func TestA11yServer(t *testing.T) {
	srv, _ := newFixtureServer(t)
	base := listen(t, srv)
	axeCheck(t, base, []string{"/", "/history", "/incidents/fx0000000001", "/incidents/fx0000000024", "/incidents/fx0000000015", "/nope"})
}

// TestNewNeedsAFirstRead refuses to start on a store that cannot be read:
// an empty page saying all is well would be false.
func TestNewNeedsAFirstRead(t *testing.T) {
	st := fixtureStore(t)
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := New(st, fixtureOptions()); err == nil {
		t.Fatal("New on a closed store succeeded")
	}
}

func TestUntilMidnight(t *testing.T) {
	tests := []struct {
		name string
		now  time.Time
		want time.Duration
	}{
		{"evening", time.Date(2026, 11, 20, 23, 0, 0, 0, berlin), time.Hour + time.Second},
		{"just after midnight", time.Date(2026, 11, 21, 0, 0, 1, 0, berlin), 24 * time.Hour},
		// 29 March 2026: clocks go from 02:00 to 03:00, the day has 23 hours.
		{"spring forward", time.Date(2026, 3, 29, 0, 0, 0, 0, berlin), 23*time.Hour + time.Second},
		// 25 October 2026: 03:00 back to 02:00, the day has 25 hours.
		{"fall back", time.Date(2026, 10, 25, 0, 0, 0, 0, berlin), 25*time.Hour + time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &Server{opts: Options{Page: Page{Location: berlin}, Now: func() time.Time { return tt.now }}}
			if got := s.untilMidnight(); got != tt.want {
				t.Errorf("untilMidnight at %v = %v; want %v", tt.now, got, tt.want)
			}
		})
	}
}

// FuzzPublicRequest sends arbitrary paths and request headers through the
// whole handler chain: never a 5xx, never a panic, never the input echoed.
func FuzzPublicRequest(f *testing.F) {
	srv, _ := newFixtureServer(f)
	h := srv.App().Handler()
	for _, s := range [][3]string{
		{"/", "gzip, br", `"x"`},
		{"/incidents/fx0000000001", "*;q=0", "*"},
		{"/api/v2/summary.json", "br;q=0.5, gzip;q=1", "W/\"abc\", \"def\""},
		{"/history/", "identity", ""},
		{"/%2e%2e/%2e%2e/etc/passwd", ";;,,", ","},
		{"/incidents/<script>", "gzip;q=NaN", "\"\""},
	} {
		f.Add(s[0], s[1], s[2])
	}
	f.Fuzz(func(t *testing.T, path, acceptEncoding, ifNoneMatch string) {
		var ctx fasthttp.RequestCtx
		ctx.Request.Header.SetMethod("GET")
		ctx.Request.SetRequestURI(path)
		ctx.Request.Header.Set("Accept-Encoding", acceptEncoding)
		ctx.Request.Header.Set("If-None-Match", ifNoneMatch)
		h(&ctx)
		code := ctx.Response.StatusCode()
		if code >= 500 {
			t.Fatalf("GET %q = %d", path, code)
		}
		body := ctx.Response.Body()
		if len(path) > 8 && strings.Contains(path, "<") && bytes.Contains(body, []byte(path)) {
			t.Fatalf("GET %q echoed the path", path)
		}
	})
}
