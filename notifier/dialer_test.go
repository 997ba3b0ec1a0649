package notifier

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/statusd/statusd/data"
)

func TestCheckAddr(t *testing.T) {
	bad := []string{
		"127.0.0.1", "127.255.255.254", "0.0.0.0", "0.1.2.3", "10.0.0.1", "172.16.0.1", "172.31.255.255",
		"192.168.1.1", "100.64.0.1", "100.127.255.255", "100.100.100.200", "169.254.169.254", "169.254.170.2",
		"168.63.129.16", "192.0.0.192", "224.0.0.1", "239.255.255.250", "255.255.255.255", "240.0.0.1",
		"192.0.2.1", "198.51.100.7", "203.0.113.9", "198.18.0.1",
		"::", "::1", "::ffff:127.0.0.1", "::ffff:10.0.0.1", "::ffff:169.254.169.254", "::127.0.0.1",
		"64:ff9b::7f00:1", "64:ff9b::808:808", "64:ff9b:1::a00:1", "fe80::1", "fc00::1", "fd00:ec2::254",
		"ff02::1", "2001:db8::1", "2001:0:4136:e378:8000:63bf:3fff:fdd2", "2002:7f00:1::", "2002:a9fe:a9fe::",
		"2002:c0a8:101::", "100::1",
	}
	good := []string{"8.8.8.8", "1.1.1.1", "93.184.215.14", "172.32.0.1", "100.128.0.1", "2606:4700:4700::1111",
		"2a00:1450:4001:830::200e", "::ffff:8.8.8.8", "2002:808:808::"}
	var a Allowlist
	for _, s := range bad {
		ip := netip.MustParseAddr(s)
		if err := a.CheckAddr(ip); !errors.Is(err, ErrForbiddenAddress) {
			t.Errorf("CheckAddr(%s) = %v; want ErrForbiddenAddress", s, err)
		}
	}
	for _, s := range good {
		if err := a.CheckAddr(netip.MustParseAddr(s)); err != nil {
			t.Errorf("CheckAddr(%s) = %v; want nil", s, err)
		}
	}
	if err := a.CheckAddr(netip.MustParseAddr("fe80::1%eth0")); err == nil {
		t.Error("CheckAddr with a zone = nil; want an error")
	}
}

func TestAllowlist(t *testing.T) {
	a, err := ParseAllowlist([]string{"10.1.0.0/16", "127.0.0.1", "::1"})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"10.1.2.3", "127.0.0.1", "::ffff:127.0.0.1", "::1"} {
		if err := a.CheckAddr(netip.MustParseAddr(s)); err != nil {
			t.Errorf("allowlisted CheckAddr(%s) = %v", s, err)
		}
	}
	for _, s := range []string{"10.2.0.1", "127.0.0.2", "169.254.169.254"} {
		if err := a.CheckAddr(netip.MustParseAddr(s)); err == nil {
			t.Errorf("CheckAddr(%s) = nil; want refused (not on the allowlist)", s)
		}
	}
	for _, bad := range []string{"10.0.0.0/33", "example.com", "fe80::1%eth0", ""} {
		if _, err := ParseAllowlist([]string{bad}); err == nil {
			t.Errorf("ParseAllowlist(%q) = nil error", bad)
		}
	}
}

// fakeResolver answers from a map.
type fakeResolver map[string][]string

func (f fakeResolver) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	ss, ok := f[host]
	if !ok {
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	var out []netip.Addr
	for _, s := range ss {
		out = append(out, netip.MustParseAddr(s))
	}
	return out, nil
}

func TestValidateURL(t *testing.T) {
	r := fakeResolver{
		"hooks.example.com":   {"93.184.215.14"},
		"dual.example.com":    {"93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"},
		"localish.example":    {"127.0.0.1"},
		"mixed.example.com":   {"93.184.215.14", "10.0.0.5"},
		"v6local.example.com": {"::1"},
		"mapped.example.com":  {"::ffff:127.0.0.1"},
		"meta.example.com":    {"169.254.169.254"},
		"nat64.example.com":   {"64:ff9b::a9fe:a9fe"},
	}
	ok := map[string]string{
		"https://hooks.example.com/x":         "https://hooks.example.com/x",
		"HTTPS://Hooks.Example.COM./x?y=1":    "https://hooks.example.com/x?y=1",
		"http://dual.example.com:8080/h":      "http://dual.example.com:8080/h",
		"https://93.184.215.14/hook":          "https://93.184.215.14/hook",
		"https://[2606:4700:4700::1111]/hook": "https://[2606:4700:4700::1111]/hook",
	}
	for in, want := range ok {
		got, err := Allowlist{}.ValidateURL(context.Background(), r, in)
		if err != nil || got != want {
			t.Errorf("ValidateURL(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	bad := []string{
		"", "ftp://hooks.example.com/", "file:///etc/passwd", "gopher://x.example.com/", "javascript:alert(1)",
		"hooks.example.com/x", "//hooks.example.com/x", "https://user:pass@hooks.example.com/",
		"https://user@hooks.example.com/", "https://hooks.example.com/#frag", "https:///x",
		"http://127.0.0.1/", "http://127.1/", "http://2130706433/", "http://0x7f000001/", "http://0x7f.0.0.1/",
		"http://0177.0.0.1/", "http://017700000001/", "http://0/", "http://[::1]/", "http://[::ffff:127.0.0.1]/",
		"http://[::ffff:7f00:1]/", "http://[fe80::1%25eth0]/", "http://[64:ff9b::7f00:1]/", "http://169.254.169.254/latest/meta-data/",
		"http://[fd00:ec2::254]/", "http://100.100.100.200/", "http://localhost/", "http://foo.localhost/",
		"http://metadata.google.internal/", "http://localish.example/", "http://mixed.example.com/",
		"http://v6local.example.com/", "http://mapped.example.com/", "http://meta.example.com/", "http://nat64.example.com/",
		"http://nx.example.com/", "https://hooks.example.com:0/", "https://hooks.example.com:99999/",
		"https://hooks.example.com:/", "https://hooks.example.com:08080/", "https://hooks.example.com/a b",
		"https://hooks.example.com/\r\nX-Injected: 1", "https://hооks.example.com/", "https://exa_mple.com/",
		"http://1.2.3.4.5/", "https://" + strings.Repeat("a", 2100) + ".com/",
		"http://10.0.0.1/", "http://192.168.0.1:8080/", "http://[::]/", "http://0.0.0.0/",
	}
	for _, in := range bad {
		got, err := Allowlist{}.ValidateURL(context.Background(), r, in)
		var inv *data.InvalidError
		if !errors.As(err, &inv) || inv.Field != "webhook_url" {
			t.Errorf("ValidateURL(%q) = %q, %v; want an InvalidError for webhook_url", in, got, err)
		}
	}
	// An operator may allow an internal target.
	a, _ := ParseAllowlist([]string{"10.0.0.0/8"})
	if _, err := a.ValidateURL(context.Background(), r, "http://10.0.0.1/hook"); err != nil {
		t.Errorf("allowlisted 10.0.0.1: %v", err)
	}
	if _, err := a.ValidateURL(context.Background(), r, "http://127.0.0.1/hook"); err == nil {
		t.Error("127.0.0.1 accepted with only 10/8 allowed")
	}
}

// startDNS serves A records from answer(name) on a UDP port and returns a
// resolver that asks it.
func startDNS(t *testing.T, answer func(name string) string) *net.Resolver {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &dns.Server{PacketConn: pc, Handler: dns.HandlerFunc(func(w dns.ResponseWriter, q *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(q)
		for _, qq := range q.Question {
			if qq.Qtype != dns.TypeA {
				continue
			}
			if ip := answer(qq.Name); ip != "" {
				m.Answer = append(m.Answer, &dns.A{Hdr: dns.RR_Header{Name: qq.Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 0},
					A: net.ParseIP(ip)})
			}
		}
		_ = w.WriteMsg(m) // a lost answer times the client out, failing the test
	})}
	go func() { _ = srv.ActivateAndServe() }() // returns at shutdown
	t.Cleanup(func() { _ = srv.Shutdown() })
	addr := pc.LocalAddr().String()
	return &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "udp", addr)
	}}
}

// TestDNSRebinding registers a name that resolves to a public address, then
// resolves it to 127.0.0.1 at delivery: the dialer refuses the connection,
// and the receiver on 127.0.0.1 never hears from us.
func TestDNSRebinding(t *testing.T) {
	var hits atomic.Int32
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	defer recv.Close()
	_, port, _ := net.SplitHostPort(recv.Listener.Addr().String())
	var lookups atomic.Int32
	res := startDNS(t, func(name string) string {
		if name != "rebind.test." {
			return ""
		}
		if lookups.Add(1) == 1 {
			return "93.184.215.14" // public at registration
		}
		return "127.0.0.1" // loopback at delivery
	})
	var a Allowlist
	u, err := a.ValidateURL(context.Background(), res, "http://rebind.test:"+port+"/hook")
	if err != nil {
		t.Fatalf("registration: %v", err)
	}
	w := NewWebhookSender(WebhookOptions{Allow: a, Resolver: res, Timeout: 5 * time.Second})
	defer w.Close()
	err = w.Send(context.Background(), WebhookRequest{URL: u, ID: "msg_1", Body: []byte("{}")})
	var se *SendError
	if !errors.As(err, &se) || !se.Permanent || !errors.Is(err, ErrForbiddenAddress) && se.Reason == "" {
		t.Fatalf("Send after rebinding = %v; want a permanent refusal", err)
	}
	if n := hits.Load(); n != 0 {
		t.Fatalf("receiver on 127.0.0.1 got %d requests", n)
	}
	// Every notation of loopback is refused at connect time too.
	for _, raw := range []string{"http://127.0.0.1:" + port + "/", "http://[::ffff:127.0.0.1]:" + port + "/", "http://localhost:" + port + "/"} {
		err := w.Send(context.Background(), WebhookRequest{URL: raw, ID: "msg_2", Body: []byte("{}")})
		if !permanent(err) {
			t.Errorf("Send(%s) = %v; want a permanent refusal", raw, err)
		}
	}
	if n := hits.Load(); n != 0 {
		t.Fatalf("receiver on 127.0.0.1 got %d requests", n)
	}
}

func FuzzValidateURL(f *testing.F) {
	for _, s := range []string{"https://hooks.example.com/x", "http://127.1/", "http://0x7f.1/", "http://[::ffff:127.0.0.1]/",
		"https://u:p@hooks.example.com/", "javascript:x", "http://%31%32%37.0.0.1/", "http://hooks.example.com:65536/"} {
		f.Add(s)
	}
	r := fakeResolver{"hooks.example.com": {"93.184.215.14"}}
	f.Fuzz(func(t *testing.T, raw string) {
		got, err := Allowlist{}.ValidateURL(context.Background(), r, raw)
		if err != nil {
			var inv *data.InvalidError
			if !errors.As(err, &inv) {
				t.Fatalf("ValidateURL(%q) error %v is not an InvalidError", raw, err)
			}
			return
		}
		// Whatever passed must be http(s), without credentials, and its
		// host must be public.
		if !strings.HasPrefix(got, "http://") && !strings.HasPrefix(got, "https://") {
			t.Fatalf("ValidateURL(%q) = %q: not http(s)", raw, got)
		}
		if strings.ContainsAny(got, " \r\n\t") {
			t.Fatalf("ValidateURL(%q) = %q: contains whitespace", raw, got)
		}
		again, err := Allowlist{}.ValidateURL(context.Background(), r, got)
		if err != nil || again != got {
			t.Fatalf("ValidateURL(ValidateURL(%q)) = %q, %v; want %q (stable)", raw, again, err, got)
		}
	})
}
