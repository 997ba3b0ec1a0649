package server

import (
	"errors"
	"strings"
	"testing"

	"github.com/statusd/statusd/data"
)

func TestRenderMarkdown(t *testing.T) {
	for _, c := range []struct {
		in, html, text string
	}{
		{"**What's happening:** cards fail.\n\nTry [PayPal](https://example.com/pay).", "<p><strong>What's happening:</strong> cards fail.</p>\n<p>Try <a href=\"https://example.com/pay\">PayPal</a>.</p>",
			"What's happening: cards fail.\n\nTry PayPal (https://example.com/pay)."},
		{"- one\n- two", "<ul>\n<li>one</li>\n<li>two</li>\n</ul>", "- one\n- two"},
		{"## Timeline\nline one\nline two", "<p><strong>Timeline</strong></p>\n<p>line one<br>\nline two</p>", "Timeline\n\nline one\nline two"},
		{"latency < 5 s & rising", "<p>latency &lt; 5 s &amp; rising</p>", "latency < 5 s & rising"},
		{"see https://example.com/x", "<p>see <a href=\"https://example.com/x\">https://example.com/x</a></p>", "see https://example.com/x"},
	} {
		got, err := renderMarkdown(c.in)
		if err != nil {
			t.Errorf("renderMarkdown(%q): %v", c.in, err)
			continue
		}
		if got.HTML != c.html {
			t.Errorf("renderMarkdown(%q).HTML = %q; want %q", c.in, got.HTML, c.html)
		}
		if got.Text != c.text {
			t.Errorf("renderMarkdown(%q).Text = %q; want %q", c.in, got.Text, c.text)
		}
	}
	for _, bad := range []string{
		"<script>alert(1)</script>", "hi <b>there</b>", "![x](https://example.com/x.png)", "[x](javascript:alert(1))",
		"[x](/relative)", "[x](data:text/html,hi)", "", strings.Repeat("x", data.MaxBodyLength+1),
	} {
		_, err := renderMarkdown(bad)
		var inv *data.InvalidError
		if !errors.As(err, &inv) || inv.Field != "body" {
			t.Errorf("renderMarkdown(%q) = %v; want an invalid body", bad, err)
		}
	}
}

func FuzzRenderMarkdown(f *testing.F) {
	for _, s := range []string{"**a** [b](https://c)", "<i>x</i>", "- a\n  - b\n> q", "```\ncode\n```", "[x](javascript:y)"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := renderMarkdown(s)
		if err != nil {
			return
		}
		low := strings.ToLower(r.HTML)
		for _, bad := range []string{"<script", "javascript:", "<img", "<iframe", " on"} {
			if strings.Contains(low, bad) && !strings.Contains(strings.ToLower(s), bad) {
				t.Errorf("renderMarkdown(%q) made %q", s, r.HTML)
			}
		}
		if strings.Contains(low, "<script") || strings.Contains(low, "<img") {
			t.Errorf("renderMarkdown(%q) let through %q", s, r.HTML)
		}
	})
}
