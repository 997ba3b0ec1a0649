package main

import (
	"regexp"
	"strings"
	"testing"
)

func TestParseFrameAncestor(t *testing.T) {
	tests := []struct {
		in, want string // want "" for an error
	}{
		{"https://help.example.com", "https://help.example.com"},
		{"HTTPS://Help.Example.COM/", "https://help.example.com"},
		{"http://localhost:8080", "http://localhost:8080"},
		{"https://*.example.com", "https://*.example.com"},
		{"https://*.example.com:8443", "https://*.example.com:8443"},
		{"http://127.0.0.1:3000", "http://127.0.0.1:3000"},
		{"http://[::1]:3000", "http://[::1]:3000"},
		{"https://xn--bcher-kva.example", "https://xn--bcher-kva.example"},
		{"https://help.example.com/portal", ""},
		{"https://help.example.com?x", ""},
		{"https://help.example.com?", ""},
		{"https://help.example.com#top", ""},
		{"https://help.example.com#", ""},
		{"https://user@help.example.com", ""},
		{"help.example.com", ""},
		{"//help.example.com", ""},
		{"ftp://help.example.com", ""},
		{"javascript:alert(1)", ""},
		{"*", ""},
		{"'self'", ""},
		{"https://*", ""},
		{"https://*.com", ""},
		{"https://a.*.example.com", ""},
		{"https://-bad-.example.com", ""},
		{"https://help.example.com:0", ""},
		{"https://help.example.com:65536", ""},
		{"https://help.example.com:08080", ""},
		{"https://help.example.com:", ""},
		{"https://bücher.example", ""},
		{"https://a.example; script-src *", ""},
		{"https://a.example https://b.example", ""},
		{"https://a.example\r\nX: y", ""},
		{"", ""},
	}
	for _, tt := range tests {
		got, reason := parseFrameAncestor(tt.in)
		if got != tt.want || (got == "") == (reason == "") {
			t.Errorf("parseFrameAncestor(%q) = %q, %q; want %q", tt.in, got, reason, tt.want)
		}
	}
}

// headerSafe is what may reach the frame-ancestors directive: it must
// match the server's own check (server/embed.go originPattern).
var headerSafe = regexp.MustCompile(`^https?://(\*\.)?([a-z0-9-]+\.)*[a-z0-9-]+(:[0-9]{1,5})?$|^https?://\[[0-9a-f:.]+\](:[0-9]{1,5})?$`)

func FuzzParseFrameAncestor(f *testing.F) {
	for _, s := range []string{"https://help.example.com", "http://[::1]:80", "https://*.example.com", "https://a.example/x", "x",
		"https://a.example;b", "HTTP://A.EXAMPLE:65535", "https://[fe80::1%25eth0]"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		o, reason := parseFrameAncestor(s)
		if (o == "") == (reason == "") {
			t.Fatalf("parseFrameAncestor(%q) = %q, %q", s, o, reason)
		}
		if o != "" && !headerSafe.MatchString(o) {
			t.Fatalf("parseFrameAncestor(%q) = %q, which the server would refuse", s, o)
		}
		if o2, _ := parseFrameAncestor(o); o != "" && o2 != o {
			t.Fatalf("parseFrameAncestor(%q) = %q, but that parses as %q", s, o, o2)
		}
	})
}

func TestEmbedConfig(t *testing.T) {
	cfg, err := LoadConfig("testdata/good/embed.yaml", envFunc(nil))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(cfg.Embed.FrameAncestors, " "); got != "https://help.acme.example https://*.acme-partners.example http://localhost:3000" {
		t.Errorf("frame ancestors = %q", got)
	}
	cfg, err = LoadConfig("testdata/good/minimal.yaml", envFunc(nil))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Embed.FrameAncestors != nil {
		t.Errorf("frame ancestors by default = %q; want none", cfg.Embed.FrameAncestors)
	}
}

// TestEmbedServed runs statusd with embed.frame_ancestors and checks that the
// frame allows exactly those origins, the page none, and the widget, the
// badges and /embed are served.
func TestEmbedServed(t *testing.T) {
	_, base := startMain(t, "testdata/good/embed.yaml")
	code, h, _ := httpGet(t, base+"/embed/frame?component=auth-api")
	if want := "frame-ancestors 'self' https://help.acme.example https://*.acme-partners.example http://localhost:3000"; code != 200 ||
		!strings.HasSuffix(h.Get("Content-Security-Policy"), want) {
		t.Errorf("frame = %d, CSP %q; want 200 ending %q", code, h.Get("Content-Security-Policy"), want)
	}
	if _, h, _ := httpGet(t, base+"/"); !strings.Contains(h.Get("Content-Security-Policy"), "frame-ancestors 'none'") {
		t.Errorf("page CSP %q; want frame-ancestors 'none'", h.Get("Content-Security-Policy"))
	}
	for p, ct := range map[string]string{"/embed.js": "text/javascript", "/embed": "text/html", "/badge/auth-api.svg": "image/svg+xml",
		"/badge/sign-in/uptime.svg?days=30": "image/svg+xml", "/embed/status.json": "application/json"} {
		if code, h, _ := httpGet(t, base+p); code != 200 || !strings.HasPrefix(h.Get("Content-Type"), ct) {
			t.Errorf("GET %s = %d %s; want 200 %s", p, code, h.Get("Content-Type"), ct)
		}
	}
}
