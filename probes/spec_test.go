package probes

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestParseTemplate(t *testing.T) {
	tests := []struct {
		in      string
		vars    []string
		env     []string
		out     string
		wantErr bool
	}{
		{in: "plain", out: "plain"},
		{in: "Bearer ${token}", vars: []string{"token"}, out: "Bearer T"},
		{in: "${env:API_KEY}:${user}", vars: []string{"user"}, env: []string{"API_KEY"}, out: ":U"},
		{in: "cost $5 and $$ and $", out: "cost $5 and $ and $"},
		{in: "${", wantErr: true},
		{in: "${}", wantErr: true},
		{in: "${a b}", wantErr: true},
		{in: "${env:}", wantErr: true},
	}
	for _, tt := range tests {
		tm, err := ParseTemplate(tt.in)
		if (err != nil) != tt.wantErr {
			t.Errorf("ParseTemplate(%q) error = %v; want error %v", tt.in, err, tt.wantErr)
			continue
		}
		if err != nil {
			continue
		}
		if got := strings.Join(tm.Vars(), ","); got != strings.Join(tt.vars, ",") {
			t.Errorf("ParseTemplate(%q).Vars() = %q; want %q", tt.in, got, tt.vars)
		}
		if got := strings.Join(tm.Env(), ","); got != strings.Join(tt.env, ",") {
			t.Errorf("ParseTemplate(%q).Env() = %q; want %q", tt.in, got, tt.env)
		}
		if got := tm.expand(map[string]string{"token": "T", "user": "U"}); got != tt.out {
			t.Errorf("expand(%q) = %q; want %q", tt.in, got, tt.out)
		}
	}
}

func TestJSONPath(t *testing.T) {
	doc, err := decodeJSON([]byte(`{"a":{"b":[1,{"c":"x"},true,null]},"k e y":"v","n":1.50,"arr":[{"id":1},{"id":2}]}`))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ path, want string }{
		{"$", `{"a":{"b":[1,{"c":"x"},true,null]},"k e y":"v","n":1.50,"arr":[{"id":1},{"id":2}]}`},
		{"$.a.b[0]", "1"},
		{"$.a.b[1].c", "x"},
		{"$.a.b[-2]", "true"},
		{"$.a.b[3]", "null"},
		{"$['k e y']", "v"},
		{`$["a"]['b'][1]["c"]`, "x"},
		{"$.n", "1.50"},
		{"$.arr[*].id", "1|2"},
		{"$.arr.*.id", "1|2"},
		{"$.a.*[0]", "1"},
		{"$.missing", ""},
		{"$.a.b[9]", ""},
		{"$.n.x", ""},
	}
	for _, tt := range tests {
		p, err := ParseJSONPath(tt.path)
		if err != nil {
			t.Errorf("ParseJSONPath(%q): %v", tt.path, err)
			continue
		}
		var got []string
		for _, v := range p.Select(doc) {
			got = append(got, jsonText(v))
		}
		if g := strings.Join(got, "|"); g != tt.want {
			t.Errorf("%s = %q; want %q", tt.path, g, tt.want)
		}
	}
	for _, bad := range []string{"", "a.b", "$.", "$..a", "$[", "$[x]", "$['a'", "$[*", "$.a b", "$[1.5]", "$a"} {
		if _, err := ParseJSONPath(bad); err == nil {
			t.Errorf("ParseJSONPath(%q) accepted", bad)
		}
	}
	deep := strings.Repeat("[", 100) + strings.Repeat("]", 100)
	if _, err := decodeJSON([]byte(deep)); err == nil {
		t.Error("decodeJSON accepted 100 levels of nesting")
	}
}

func FuzzJSONPath(f *testing.F) {
	for _, s := range []string{"$", "$.a.b[0]", "$['x'][*]", `$["a"].*[-1]`, "$[", "$.a["} {
		f.Add(s, `{"a":{"b":[1,2]},"x":[{"y":1}]}`)
	}
	f.Fuzz(func(t *testing.T, path, doc string) {
		p, err := ParseJSONPath(path)
		if err != nil {
			return
		}
		v, err := decodeJSON([]byte(doc))
		if err != nil {
			return
		}
		for _, x := range p.Select(v) {
			_ = jsonText(x)
		}
	})
}

func FuzzTemplate(f *testing.F) {
	for _, s := range []string{"", "a${b}c", "${env:X}", "$$", "${", "$${x}"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tm, err := ParseTemplate(s)
		if err != nil {
			return
		}
		vars := map[string]string{}
		for _, v := range tm.Vars() {
			if !validName(v) {
				t.Fatalf("ParseTemplate(%q) gave variable %q", s, v)
			}
			vars[v] = "v"
		}
		_ = tm.expand(vars)
	})
}

func TestBuildErrors(t *testing.T) {
	ok := func(s *Spec) {}
	base := func() Spec {
		return Spec{ID: "p", Type: TypeJourney, Interval: 30 * time.Second, Timeout: 5 * time.Second, Steps: []StepSpec{
			{Name: "login", URL: "https://shop.example/login", Captures: []CaptureSpec{{Name: "token", JSON: "$.token"}}},
			{Name: "pay", URL: "https://shop.example/pay", Headers: []HeaderSpec{{"Authorization", "Bearer ${token}"}}},
		}}
	}
	tests := []struct {
		name   string
		change func(*Spec)
		field  string
		reason string
	}{
		{"good", ok, "", ""},
		{"unknown type", func(s *Spec) { s.Type = "ftp" }, "type", `unknown probe type "ftp"`},
		{"interval floor", func(s *Spec) { s.Interval = time.Second; s.Timeout = 500 * time.Millisecond }, "interval", "below the floor of 5s"},
		{"timeout", func(s *Spec) { s.Timeout = time.Minute }, "timeout", "shorter than the interval"},
		{"bad regex", func(s *Spec) { s.Steps[1].BodyMatches = []string{"a(b"} }, "steps[1].expect.body_matches[0]", "bad regular expression: missing closing )"},
		{"bad json path", func(s *Spec) { s.Steps[0].Captures[0].JSON = "token" }, "steps[0].captures[0].json", "must start with $"},
		{"bad assertion path", func(s *Spec) { s.Steps[1].JSON = []JSONSpec{{Path: "$[x]", Exists: new(bool)}} }, "steps[1].expect.json[0].path", "is not an index"},
		{"empty assertion", func(s *Spec) { s.Steps[1].JSON = []JSONSpec{{Path: "$.a"}} }, "steps[1].expect.json[0]", "say what to check"},
		{"undefined variable", func(s *Spec) { s.Steps[1].Headers[0].Value = "Bearer ${tokn}" }, "steps[1].headers[0]", "variable ${tokn} is not captured by an earlier step"},
		{"variable used before capture", func(s *Spec) { s.Steps[0].Body = "${token}" }, "steps[0].body", "not captured by an earlier step"},
		{"unset secret", func(s *Spec) { s.Steps[1].Body = "${env:CARD_NUMBER}" }, "steps[1].body", "environment variable CARD_NUMBER is not set"},
		{"secret in URL", func(s *Spec) { s.Steps[1].URL = "https://shop.example/pay?key=${env:HOME}" }, "steps[1].url", "headers and bodies only"},
		{"bad URL", func(s *Spec) { s.Steps[1].URL = "shop.example/pay" }, "steps[1].url", "not an absolute http(s) URL"},
		{"host from variable", func(s *Spec) { s.Steps[1].URL = "https://${token}/pay" }, "steps[1].url", "not an absolute http(s) URL"},
		{"duplicate step", func(s *Spec) { s.Steps[1].Name = "login" }, "steps[1].name", `"login" is the name of step 1 too`},
		{"no step name", func(s *Spec) { s.Steps[1].Name = "" }, "steps[1].name", "each step needs a name"},
		{"bad status", func(s *Spec) { s.Steps[1].Status = []string{"6xx"} }, "steps[1].expect.status[0]", "is not a status code"},
		{"two capture sources", func(s *Spec) { s.Steps[0].Captures[0].Header = "X-Token" }, "steps[0].captures[0]", "exactly one of json, header or regex"},
		{"bad header", func(s *Spec) { s.Steps[1].Headers[0].Name = "Bad Header" }, "steps[1].headers[0]", "is not a header name"},
		{"bad method", func(s *Spec) { s.Steps[1].Method = "P0ST" }, "steps[1].method", "is not an HTTP method"},
		{"dns type", func(s *Spec) {
			*s = Spec{ID: "d", Type: TypeDNS, Target: "a.example", RecordType: "AXFR", Interval: time.Minute, Timeout: time.Second}
		}, "record_type", `unknown record type "AXFR"`},
		{"tcp target", func(s *Spec) {
			*s = Spec{ID: "t", Type: TypeTCP, Target: "db.example", Interval: time.Minute, Timeout: time.Second}
		}, "target", "is not host:port"},
		{"degraded after timeout", func(s *Spec) { s.DegradedAfter = 10 * time.Second }, "degraded_after", "shorter than the timeout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := base()
			tt.change(&s)
			_, err := Build(s, BuildOptions{MinInterval: 5 * time.Second, Getenv: func(k string) string {
				if k == "HOME" {
					return "/root"
				}
				return ""
			}})
			if tt.field == "" {
				if err != nil {
					t.Fatalf("Build = %v", err)
				}
				return
			}
			var se SpecError
			if !errors.As(err, &se) {
				t.Fatalf("Build = %v; want a SpecError", err)
			}
			for _, fe := range se {
				if fe.Field == tt.field && strings.Contains(fe.Reason, tt.reason) {
					return
				}
			}
			t.Errorf("Build = %v; want %s: …%s…", err, tt.field, tt.reason)
		})
	}
}
