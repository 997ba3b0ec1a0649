package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/statusd/statusd/data"
	"github.com/statusd/statusd/notifier"
)

// fakeMailer records the transactional mails the flow queues.
type fakeMailer struct {
	mu   sync.Mutex
	sent []notifier.Transactional
}

func (f *fakeMailer) SendTransactional(m notifier.Transactional) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sent = append(f.sent, m)
	return nil
}

func (f *fakeMailer) all() []notifier.Transactional {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]notifier.Transactional(nil), f.sent...)
}

type mapResolver map[string][]string

func (r mapResolver) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	ss, ok := r[host]
	if !ok {
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	var out []netip.Addr
	for _, s := range ss {
		out = append(out, netip.MustParseAddr(s))
	}
	return out, nil
}

var testResolver = mapResolver{
	"hooks.example.com": {"93.184.215.14"},
	"evil.example.com":  {"127.0.0.1"},
}

func newSubscribeServer(t testing.TB, tweak func(*SubscribeOptions)) (*Server, *data.Store, *fakeMailer, string) {
	t.Helper()
	return newSubscribeServerWith(t, tweak, nil)
}

// newSubscribeServerWith is newSubscribeServer with the server's options
// changed too.
func newSubscribeServerWith(t testing.TB, tweak func(*SubscribeOptions), tweakServer func(*Options)) (*Server, *data.Store, *fakeMailer, string) {
	t.Helper()
	st := fixtureStore(t)
	st.Now = time.Now // tokens expire in real time here
	m := &fakeMailer{}
	so := &SubscribeOptions{Store: st, Mailer: m, PerIP: 1000, PerAddress: 1000,
		ValidateWebhookURL: func(ctx context.Context, raw string) (string, error) {
			return notifier.Allowlist{}.ValidateURL(ctx, testResolver, raw)
		}}
	if tweak != nil {
		tweak(so)
	}
	o := fixtureOptions()
	o.Subscribe = so
	if tweakServer != nil {
		tweakServer(&o)
	}
	srv, err := New(st, o)
	if err != nil {
		t.Fatal(err)
	}
	var base string
	if tt, ok := t.(*testing.T); ok {
		base = listen(tt, srv)
	}
	return srv, st, m, base
}

var noRedirect = &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

func postForm(t *testing.T, u string, form url.Values) (int, string) {
	t.Helper()
	resp, err := noRedirect.PostForm(u, form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func postBody(t *testing.T, u, ctype, body string) (int, string, http.Header) {
	t.Helper()
	resp, err := noRedirect.Post(u, ctype, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

func getPage(t *testing.T, u string) (int, string, http.Header) {
	t.Helper()
	resp, err := noRedirect.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

var tokenInLink = regexp.MustCompile(`token=([A-Za-z0-9_-]{43})`)

func linkToken(t *testing.T, link string) string {
	t.Helper()
	m := tokenInLink.FindStringSubmatch(link)
	if m == nil {
		t.Fatalf("no token in %q", link)
	}
	return m[1]
}

func countSubscribers(t *testing.T, st *data.Store) int {
	t.Helper()
	list, err := st.Subscribers(context.Background(), data.SubscriberFilter{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	return len(list)
}

func TestSubscribeEmailFlow(t *testing.T) {
	_, st, mailer, base := newSubscribeServer(t, nil)
	// The form is a prebuilt public document.
	code, body, hdr := getPage(t, base+"/subscribe")
	if code != 200 || !strings.Contains(body, `name="email"`) || !strings.Contains(body, `name="component"`) || hdr.Get("ETag") == "" {
		t.Fatalf("GET /subscribe: %d %s", code, hdr)
	}
	code, body = postForm(t, base+"/subscribe", url.Values{"email": {"ann@example.com"}, "component": {"payments"}})
	if code != 200 || !strings.Contains(body, "Check your inbox") {
		t.Fatalf("POST /subscribe: %d\n%s", code, body)
	}
	sent := mailer.all()
	if len(sent) != 1 || sent[0].To != "ann@example.com" || !strings.Contains(sent[0].LinkURL, "https://status.fernhill.example/subscribe/confirm?token=") {
		t.Fatalf("mails: %+v", sent)
	}
	tok := linkToken(t, sent[0].LinkURL)
	// GET only shows a button; it confirms nothing.
	code, body, hdr = getPage(t, base+"/subscribe/confirm?token="+tok)
	if code != 200 || !strings.Contains(body, `action="/subscribe/confirm"`) || hdr.Get("Referrer-Policy") != "no-referrer" || hdr.Get("Cache-Control") != "no-store" {
		t.Fatalf("GET confirm: %d %v\n%s", code, hdr, body)
	}
	list, _ := st.Subscribers(context.Background(), data.SubscriberFilter{})
	if len(list) != 1 || list[0].Confirmed() {
		t.Fatalf("after GET confirm: %+v", list)
	}
	code, body = postForm(t, base+"/subscribe/confirm", url.Values{"token": {tok}})
	if code != 200 || !strings.Contains(body, "You are subscribed") {
		t.Fatalf("POST confirm: %d\n%s", code, body)
	}
	// Replayed: refused.
	if code, _ = postForm(t, base+"/subscribe/confirm", url.Values{"token": {tok}}); code != 400 {
		t.Errorf("replayed confirmation: %d", code)
	}
	sub, err := st.SubscriberByToken(context.Background(), list[0].ManageToken)
	if err != nil || !sub.Confirmed() || len(sub.Components) != 1 {
		t.Fatalf("subscriber: %+v, %v", sub, err)
	}
	manage := sub.ManageToken
	// Preferences page: change the scope.
	code, body, _ = getPage(t, base+"/subscribe/manage?token="+manage)
	if code != 200 || !strings.Contains(body, `value="payments" checked`) {
		t.Fatalf("manage page: %d\n%s", code, body)
	}
	code, body = postForm(t, base+"/subscribe/manage", url.Values{"token": {manage}, "journey": {"checkout"}})
	if code != 200 || !strings.Contains(body, "Saved.") {
		t.Fatalf("save preferences: %d\n%s", code, body)
	}
	if code, _ = postForm(t, base+"/subscribe/manage", url.Values{"token": {manage}, "component": {"nope"}}); code != 400 {
		t.Errorf("unknown component in preferences: %d", code)
	}
	// Unsubscribe: GET asks, POST (one-click) does.
	code, body, _ = getPage(t, base+"/unsubscribe?token="+manage)
	if code != 200 || !strings.Contains(body, `action="/unsubscribe"`) {
		t.Fatalf("GET unsubscribe: %d", code)
	}
	if countSubscribers(t, st) != 1 {
		t.Fatal("GET unsubscribed")
	}
	code, body, _ = postBody(t, base+"/unsubscribe?token="+manage, "application/x-www-form-urlencoded", "List-Unsubscribe=One-Click")
	if code != 200 || countSubscribers(t, st) != 0 {
		t.Fatalf("one-click unsubscribe: %d %q, %d left", code, body, countSubscribers(t, st))
	}
	if code, _, _ = postBody(t, base+"/unsubscribe?token="+manage, "application/x-www-form-urlencoded", "List-Unsubscribe=One-Click"); code != 400 {
		t.Errorf("second one-click: %d", code)
	}
}

// TestSubscribeRevealsNothing: a new address, a pending one and a confirmed
// one get the same answer; only the mail differs, and it goes to the owner.
func TestSubscribeRevealsNothing(t *testing.T) {
	_, st, mailer, base := newSubscribeServer(t, nil)
	if _, err := st.AddConfirmedSubscriber(context.Background(), data.NewSubscriber{Channel: data.ChannelEmail, Email: "old@example.com"}, "t"); err != nil {
		t.Fatal(err)
	}
	var bodies []string
	for _, addr := range []string{"new@example.com", "new@example.com", "old@example.com", "OLD@Example.com"} {
		code, body, _ := postBody(t, base+"/subscribe", "application/json", `{"email":"`+addr+`"}`)
		if code != http.StatusAccepted {
			t.Fatalf("%s: %d %s", addr, code, body)
		}
		bodies = append(bodies, body)
	}
	for _, b := range bodies[1:] {
		if b != bodies[0] {
			t.Errorf("answers differ: %q vs %q", b, bodies[0])
		}
	}
	sent := mailer.all()
	if len(sent) != 4 || sent[0].Subject != "Confirm your subscription" || sent[1].Subject != "Confirm your subscription" ||
		sent[2].Subject != "You are already subscribed" || !strings.Contains(sent[2].LinkURL, "/subscribe/manage?token=") {
		t.Errorf("mails: %+v", sent)
	}
}

func TestSubscribeWebhookFlow(t *testing.T) {
	_, st, mailer, base := newSubscribeServer(t, nil)
	code, body, _ := postBody(t, base+"/subscribe", "application/json",
		`{"email":"ops@example.com","webhook_url":"https://hooks.example.com/statusd","format":"slack","journeys":["checkout"]}`)
	if code != 202 {
		t.Fatalf("POST: %d %s", code, body)
	}
	sent := mailer.all()
	if len(sent) != 1 || sent[0].To != "ops@example.com" || strings.Contains(strings.Join(sent[0].Paragraphs, " "), "/statusd") {
		t.Fatalf("owner mail (must not show the URL's path): %+v", sent)
	}
	tok := linkToken(t, sent[0].LinkURL)
	if code, _, _ = postBody(t, base+"/subscribe/confirm", "application/json", ""); code != 400 {
		t.Errorf("confirm without token: %d", code)
	}
	req, _ := http.NewRequest("POST", base+"/subscribe/confirm", strings.NewReader("token="+tok))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	resp, err := noRedirect.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]string
	_ = json.NewDecoder(resp.Body).Decode(&out)
	resp.Body.Close()
	if out["status"] != "confirmed" || !strings.HasPrefix(out["secret"], "whsec_") {
		t.Fatalf("confirm: %v", out)
	}
	list, _ := st.Subscribers(context.Background(), data.SubscriberFilter{})
	if len(list) != 1 || list[0].URL != "https://hooks.example.com/statusd" || list[0].Format != data.FormatSlack || list[0].Secret != out["secret"] {
		t.Fatalf("stored: %+v", list)
	}
	// The secret is not on the preferences page; rotating shows a new one once.
	code, body, _ = getPage(t, base+"/subscribe/manage?token="+list[0].ManageToken)
	if code != 200 || strings.Contains(body, out["secret"]) || !strings.Contains(body, `action="/subscribe/rotate"`) {
		t.Fatalf("manage page shows the secret or lacks rotation: %d", code)
	}
	code, body = postForm(t, base+"/subscribe/rotate", url.Values{"token": {list[0].ManageToken}})
	if code != 200 || !strings.Contains(body, "whsec_") || strings.Contains(body, out["secret"]) {
		t.Fatalf("rotate: %d\n%s", code, body)
	}
}

// TestSubscribeHostileInput: each gets a 4xx, nothing is stored and no mail
// is queued.
func TestSubscribeHostileInput(t *testing.T) {
	_, st, mailer, base := newSubscribeServer(t, nil)
	long := strings.Repeat("a", 10*1024) + "@example.com"
	cases := map[string]url.Values{
		"CR/LF injection":     {"email": {"ann@example.com\r\nBcc: all@example.com"}},
		"LF injection":        {"email": {"ann@example.com\nSubject: hi"}},
		"10 KB address":       {"email": {long}},
		"look-alike Unicode":  {"email": {"аnn@example.com"}},
		"look-alike domain":   {"email": {"ann@exаmple.com"}},
		"display name":        {"email": {"Ann <ann@example.com>"}},
		"two addresses":       {"email": {"ann@example.com,bob@example.com"}},
		"repeated field":      {"email": {"ann@example.com", "bob@example.com"}},
		"no address":          {"component": {"payments"}},
		"unknown component":   {"email": {"ann@example.com"}, "component": {"nope"}},
		"bad component id":    {"email": {"ann@example.com"}, "component": {"<script>"}},
		"webhook credentials": {"email": {"o@example.com"}, "webhook_url": {"https://u:p@hooks.example.com/x"}},
		"webhook ftp":         {"email": {"o@example.com"}, "webhook_url": {"ftp://hooks.example.com/x"}},
		"webhook javascript":  {"email": {"o@example.com"}, "webhook_url": {"javascript:alert(1)"}},
		"webhook loopback":    {"email": {"o@example.com"}, "webhook_url": {"http://127.0.0.1/x"}},
		"webhook decimal":     {"email": {"o@example.com"}, "webhook_url": {"http://2130706433/x"}},
		"webhook hex":         {"email": {"o@example.com"}, "webhook_url": {"http://0x7f000001/x"}},
		"webhook octal":       {"email": {"o@example.com"}, "webhook_url": {"http://0177.0.0.1/x"}},
		"webhook short":       {"email": {"o@example.com"}, "webhook_url": {"http://127.1/x"}},
		"webhook IPv6 mapped": {"email": {"o@example.com"}, "webhook_url": {"http://[::ffff:127.0.0.1]/x"}},
		"webhook metadata":    {"email": {"o@example.com"}, "webhook_url": {"http://169.254.169.254/latest"}},
		"webhook name to 127": {"email": {"o@example.com"}, "webhook_url": {"https://evil.example.com/x"}},
		"webhook bad owner":   {"email": {"o@example.com\r\n"}, "webhook_url": {"https://hooks.example.com/x"}},
		"webhook bad format":  {"email": {"o@example.com"}, "webhook_url": {"https://hooks.example.com/x"}, "format": {"xml"}},
		"webhook CRLF":        {"email": {"o@example.com"}, "webhook_url": {"https://hooks.example.com/x\r\nHost: a"}},
		"webhook NUL":         {"email": {"o@example.com"}, "webhook_url": {"https://hooks.example.com/\x00"}},
	}
	for name, form := range cases {
		code, body := postForm(t, base+"/subscribe", form)
		if code < 400 || code >= 500 {
			t.Errorf("%s: %d", name, code)
		}
		if strings.Contains(body, "\r\nBcc") || strings.Contains(body, long) {
			t.Errorf("%s: the input is echoed", name)
		}
	}
	// JSON: unknown fields, wrong types, trailing junk.
	for _, body := range []string{`{"email":"a@example.com","admin":true}`, `{"email":1}`, `{"email":"a@example.com"} {}`, `[`, `{"components":"x"}`} {
		code, out, _ := postBody(t, base+"/subscribe", "application/json", body)
		if code != 400 || !strings.Contains(out, `"error"`) {
			t.Errorf("JSON %s: %d %s", body, code, out)
		}
	}
	// Forged, malformed and expired tokens.
	for _, tok := range []string{"", "x", strings.Repeat("A", 43), strings.Repeat("A", 10000), "../../etc", "%00"} {
		for _, path := range []string{"/subscribe/confirm", "/subscribe/manage", "/unsubscribe"} {
			// (A 10 KB URL is refused by the HTTP server itself, 431.)
			if code, _, _ := getPage(t, base+path+"?token="+url.QueryEscape(tok)); code != 400 && code != 431 {
				t.Errorf("GET %s token %.20q: %d", path, tok, code)
			}
		}
		for _, path := range []string{"/subscribe/confirm", "/subscribe/manage", "/subscribe/rotate", "/unsubscribe"} {
			if code, _ := postForm(t, base+path, url.Values{"token": {tok}}); code != 400 {
				t.Errorf("POST %s token %.20q: %d", path, tok, code)
			}
		}
	}
	if n := countSubscribers(t, st); n != 0 {
		t.Errorf("%d subscribers stored", n)
	}
	if sent := mailer.all(); len(sent) != 0 {
		t.Errorf("mails queued: %+v", sent)
	}
}

func TestSubscribeExpiredToken(t *testing.T) {
	_, st, mailer, base := newSubscribeServer(t, func(o *SubscribeOptions) { o.ConfirmTTL = time.Millisecond })
	if code, _ := postForm(t, base+"/subscribe", url.Values{"email": {"ann@example.com"}}); code != 200 {
		t.Fatal(code)
	}
	time.Sleep(5 * time.Millisecond)
	tok := linkToken(t, mailer.all()[0].LinkURL)
	if code, _ := postForm(t, base+"/subscribe/confirm", url.Values{"token": {tok}}); code != 400 {
		t.Errorf("expired token: %d", code)
	}
	list, _ := st.Subscribers(context.Background(), data.SubscriberFilter{})
	if len(list) != 1 || list[0].Confirmed() {
		t.Errorf("expired token confirmed: %+v", list)
	}
}

func TestSubscribeRateLimits(t *testing.T) {
	_, _, mailer, base := newSubscribeServer(t, func(o *SubscribeOptions) { o.PerIP = 6; o.PerAddress = 2 })
	for i := range 4 {
		code, body := postForm(t, base+"/subscribe", url.Values{"email": {"ann@example.com"}})
		if code != 200 || !strings.Contains(body, "Check your inbox") {
			t.Fatalf("request %d: %d", i+1, code)
		}
	}
	if n := len(mailer.all()); n != 2 {
		t.Errorf("%d mails to one address; want 2 (the per-address limit)", n)
	}
	postForm(t, base+"/subscribe", url.Values{"email": {"bob@example.com"}})
	postForm(t, base+"/subscribe", url.Values{"email": {"cy@example.com"}})
	code, _ := postForm(t, base+"/subscribe", url.Values{"email": {"dee@example.com"}})
	if code != http.StatusTooManyRequests {
		t.Errorf("7th request from one IP: %d; want 429", code)
	}
}

// TestSubscribeRateLimitBehindProxy: behind a trusted proxy the per-IP
// limit counts each client the proxy names; a client cannot dodge it by
// sending the header itself; from a peer that is not a trusted proxy, and
// without trusted proxies at all, the header is ignored.
func TestSubscribeRateLimitBehindProxy(t *testing.T) {
	n := 0
	post := func(base, xff string) int {
		t.Helper()
		n++
		req, err := http.NewRequest("POST", base+"/subscribe", strings.NewReader(url.Values{"email": {fmt.Sprintf("p%d@example.com", n)}}.Encode()))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if xff != "" {
			req.Header.Set("X-Forwarded-For", xff)
		}
		resp, err := noRedirect.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		_, _ = io.Copy(io.Discard, resp.Body)
		return resp.StatusCode
	}
	limit2 := func(o *SubscribeOptions) { o.PerIP = 2 }
	proxy := func(trusted ...string) func(*Options) {
		return func(o *Options) { o.ProxyHeader = "X-Forwarded-For"; o.TrustedProxies = trusted }
	}

	t.Run("trusted proxy", func(t *testing.T) {
		// The test's requests come from 127.0.0.1, the trusted proxy.
		_, _, _, base := newSubscribeServerWith(t, limit2, proxy("127.0.0.1", "10.0.0.0/8"))
		for _, c := range []struct {
			xff  string
			want int
		}{
			{"203.0.113.1", 200},
			{"203.0.113.1", 200},
			{"203.0.113.1", 429},
			{"203.0.113.2", 200}, // another client, another limit
			// A client writing the header itself gets its own address
			// appended by the proxy: that is what counts.
			{"198.51.100.7, 203.0.113.1", 429},
			{"198.51.100.8,203.0.113.1", 429},
			// Inner proxies (10.0.0.0/8) are passed over.
			{"203.0.113.1, 10.1.2.3", 429},
			{"203.0.113.2, 10.1.2.3", 200},
			{"203.0.113.2", 429},
			{"[2001:db8::1]:4711", 200},
			{"2001:db8::1", 200},
			{"2001:db8::1", 429},
		} {
			if got := post(base, c.xff); got != c.want {
				t.Errorf("X-Forwarded-For: %s: %d; want %d", c.xff, got, c.want)
			}
		}
		// Without the header, or with one that cannot be read, the proxy
		// itself is the client.
		for i, want := range []int{200, 200, 429} {
			xff := []string{"", "unknown", ""}[i]
			if got := post(base, xff); got != want {
				t.Errorf("X-Forwarded-For: %q: %d; want %d", xff, got, want)
			}
		}
	})

	for name, tweak := range map[string]func(*Options){
		"untrusted peer":        proxy("192.0.2.1"),
		"no trusted proxies":    proxy(),
		"no proxy header known": nil,
	} {
		t.Run(name, func(t *testing.T) {
			_, _, _, base := newSubscribeServerWith(t, limit2, tweak)
			for i, want := range []int{200, 200, 429, 429} {
				// Every request claims another client: all count as the
				// peer, 127.0.0.1.
				if got := post(base, fmt.Sprintf("203.0.113.%d", i+1)); got != want {
					t.Errorf("request %d: %d; want %d", i+1, got, want)
				}
			}
		})
	}
}

func TestParseProxies(t *testing.T) {
	ps, err := parseProxies([]string{"10.0.0.0/8", "192.0.2.1", "2001:db8::/32", "::ffff:198.51.100.1", "172.16.5.4/12"})
	if err != nil {
		t.Fatal(err)
	}
	for addr, want := range map[string]bool{"10.9.8.7": true, "192.0.2.1": true, "192.0.2.2": false, "2001:db8::9": true,
		"198.51.100.1": true, "::ffff:10.0.0.1": true, "172.20.0.1": true, "172.32.0.1": false, "::1": false} {
		if got := ps.contains(netip.MustParseAddr(addr)); got != want {
			t.Errorf("contains(%s) = %v; want %v", addr, got, want)
		}
	}
	for _, bad := range []string{"localhost", "10.0.0.0/33", ""} {
		if _, err := parseProxies([]string{bad}); err == nil {
			t.Errorf("parseProxies(%q) accepted it", bad)
		}
	}
}

func TestComponentFeeds(t *testing.T) {
	srv, st, _, base := newSubscribeServer(t, nil)
	ctx := context.Background()
	in, err := st.CreateIncident(ctx, data.NewIncident{Name: "Payments down", Body: "x", Actor: "ann",
		Components: map[string]data.ComponentStatus{"payments": data.MajorOutage}})
	if err != nil {
		t.Fatal(err)
	}
	_ = in
	if err := srv.Rebuild(ctx); err != nil {
		t.Fatal(err)
	}
	code, body, hdr := getPage(t, base+"/feeds/component/payments.rss")
	if code != 200 || !strings.Contains(body, "Payments down") || !strings.HasPrefix(hdr.Get("Content-Type"), "application/rss+xml") || hdr.Get("ETag") == "" {
		t.Fatalf("payments feed: %d %v\n%s", code, hdr, body)
	}
	code, body, _ = getPage(t, base+"/feeds/component/payments.atom")
	if code != 200 || !strings.Contains(body, "<feed") {
		t.Fatalf("payments atom: %d", code)
	}
	// Conditional request: 304 from the cached entry.
	req, _ := http.NewRequest("GET", base+"/feeds/component/payments.rss", nil)
	req.Header.Set("If-None-Match", hdr.Get("ETag"))
	if resp, err := noRedirect.Do(req); err != nil || resp.StatusCode != 304 {
		t.Errorf("conditional feed request: %v %v", resp, err)
	}
	for _, p := range []string{"/feeds/component/nope.rss", "/feeds/component/payments.xml", "/feeds/x/payments.rss", "/feeds/component/<x>.rss"} {
		if code, _, _ := getPage(t, base+p); code != 404 {
			t.Errorf("%s: %d", p, code)
		}
	}
}

// FuzzSubscribeParams feeds arbitrary bodies to the parameter parser: it
// never panics, and whatever it accepts is bounded and free of control
// characters.
func FuzzSubscribeParams(f *testing.F) {
	for _, s := range [][2]string{
		{"application/x-www-form-urlencoded", "email=a%40example.com&component=payments"},
		{"application/json", `{"email":"a@example.com","components":["a","b"]}`},
		{"application/json", `{"email":"a@example.com\r\nBcc: x"}`},
		{"text/plain", "email=a@b.c\r\n"},
		{"application/json; charset=utf-8", `{"webhook_url":"http://[::1]/","email":"x@y.z"}`},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, ctype, body string) {
		form, _ := url.ParseQuery(body)
		r, err := parseSubscribeRequest(ctype, []byte(body), func(k string) []string { return form[k] })
		if err != nil {
			var inv *data.InvalidError
			if !errors.As(err, &inv) {
				t.Fatalf("error %v is not an InvalidError", err)
			}
			return
		}
		for _, v := range append([]string{r.Email, r.WebhookURL, r.Format}, append(r.Components, r.Journeys...)...) {
			if len(v) > maxField || strings.ContainsAny(v, "\r\n\x00") {
				t.Fatalf("accepted %q", v)
			}
		}
		// Whatever the parser accepts, the domain check either refuses
		// cleanly or yields a plain address.
		if e, err := data.NormalizeAddress("email", r.Email); err == nil && strings.ContainsAny(e, " <>\r\n,;") {
			t.Fatalf("NormalizeAddress accepted %q", e)
		}
	})
}

// FuzzUnsubscribe posts arbitrary tokens and bodies to the token endpoints
// through the whole handler chain: never a 5xx.
func FuzzUnsubscribe(f *testing.F) {
	srv, _, _, _ := newSubscribeServer(f, nil)
	for _, s := range [][2]string{{"x", "List-Unsubscribe=One-Click"}, {strings.Repeat("A", 43), "token=" + strings.Repeat("B", 43)}, {"%zz", "&&=="}} {
		f.Add(s[0], s[1])
	}
	app := srv.App()
	f.Fuzz(func(t *testing.T, token, body string) {
		for _, path := range []string{"/unsubscribe", "/subscribe/confirm", "/subscribe/manage", "/subscribe/rotate"} {
			req := httptest.NewRequest("POST", path+"?token="+url.QueryEscape(token), strings.NewReader(body))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			resp, err := app.Test(req, -1)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode >= 500 {
				t.Fatalf("POST %s %q %q: %d", path, token, body, resp.StatusCode)
			}
		}
	})
}

// TestA11ySubscribe checks every page of the flow with axe-core in light
// and dark: the real server's GET pages, and the POST answers rendered into
// a test server (the checker only loads pages by GET).
func TestA11ySubscribe(t *testing.T) {
	a11yTools(t)
	srv, st, _, base := newSubscribeServer(t, nil)
	ctx := context.Background()
	res, err := st.RequestSubscription(ctx, data.NewSubscriber{Channel: data.ChannelEmail, Email: "ann@example.com"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	hook, err := st.AddConfirmedSubscriber(ctx, data.NewSubscriber{Channel: data.ChannelWebhook, Email: "o@example.com",
		URL: "https://hooks.example.com/x", Components: []string{"payments"}}, "t")
	if err != nil {
		t.Fatal(err)
	}
	axeCheck(t, base, []string{"/subscribe", "/subscribe/confirm?token=" + res.ConfirmToken, "/subscribe/manage?token=" + hook.ManageToken,
		"/unsubscribe?token=" + hook.ManageToken, "/subscribe/confirm?token=forged"})

	m := srv.subs.model.Load()
	pages := map[string][]byte{}
	render := func(path, tmpl string, v *subscribeView) {
		b, err := srv.renderSubscribeBytes(m, "Test", tmpl, v)
		if err != nil {
			t.Fatal(err)
		}
		pages[path] = b
	}
	bad := srv.subscribeFormView(subscribeRequest{Email: "ann@", WebhookURL: "http://127.0.0.1/", Components: []string{"payments"}})
	bad.setErrors(&data.InvalidError{Field: "webhook_url", Reason: "points to an address that is not on the public internet"})
	render("/form-error", "subscribe.html", bad)
	render("/subscribed", "subscribe_message.html", &subscribeView{Heading: "You are subscribed", Secret: notifier.NewSecret(),
		Intro: []string{"You will receive everything."}, Links: []Link{{Name: "Manage", URL: "/subscribe/manage?token=x"}}})
	render("/inbox", "subscribe_message.html", &subscribeView{Heading: "Check your inbox", Intro: []string{pendingMessage}})
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if b, ok := pages[r.URL.Path]; ok {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.Header().Set("Content-Security-Policy", contentSecurityPolicy)
			_, _ = w.Write(b) // a failed write fails the check
			return
		}
		resp, err := http.Get(base + r.URL.Path)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		for k, v := range resp.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(resp.StatusCode)
		_, _ = io.Copy(w, resp.Body) // a failed copy fails the check
	}))
	t.Cleanup(proxy.Close)
	axeCheck(t, proxy.URL, []string{"/form-error", "/subscribed", "/inbox"})
}

func TestLimitKey(t *testing.T) {
	for in, want := range map[string]string{
		"192.0.2.7":                 "192.0.2.7",
		"2001:db8:1:2:3:4:5:6":      "2001:db8:1:2::/64",
		"2001:db8:1:2:ffff:ffff::1": "2001:db8:1:2::/64",
		"2001:db8:1:3::1":           "2001:db8:1:3::/64",
		"::ffff:192.0.2.7":          "::ffff:192.0.2.7",
		"not an address":            "not an address",
	} {
		if got := limitKey(in); got != want {
			t.Errorf("limitKey(%q) = %q; want %q", in, got, want)
		}
	}
}

// TestSubscribeFormRenderOnChange: a status change leaves /subscribe as it
// was (the same entry), a renamed component renders it again.
func TestSubscribeFormRenderOnChange(t *testing.T) {
	ctx := context.Background()
	srv, st, _, _ := newSubscribeServer(t, nil)
	before := srv.snap.Load().entries["/subscribe"]
	if before == nil || before.key == 0 {
		t.Fatalf("/subscribe is not in the snapshot with a key: %+v", before)
	}
	if _, err := st.SetComponentStatus(ctx, data.SetStatus{ComponentID: "rest", Status: data.MajorOutage, Actor: "t"}); err != nil {
		t.Fatal(err)
	}
	if err := srv.Rebuild(ctx); err != nil {
		t.Fatal(err)
	}
	if srv.snap.Load().entries["/subscribe"] != before {
		t.Error("a status change rendered /subscribe again")
	}
	cat := fixtureCatalog()
	cat.Journeys[0].Components[0].Name = "Renamed for the test"
	if _, err := st.SyncCatalog(ctx, cat, "config"); err != nil {
		t.Fatal(err)
	}
	if err := srv.Rebuild(ctx); err != nil {
		t.Fatal(err)
	}
	if after := srv.snap.Load().entries["/subscribe"]; after == before || !strings.Contains(string(after.plain), "Renamed for the test") {
		t.Error("a renamed component is not on the /subscribe form")
	}
}
