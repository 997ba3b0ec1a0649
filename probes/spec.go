package probes

import (
	"crypto/x509"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Probe types.
const (
	TypeHTTP    = "http"
	TypeTCP     = "tcp"
	TypeDNS     = "dns"
	TypeTLS     = "tls"
	TypeJourney = "journey"
)

// Types lists the probe types.
var Types = []string{TypeHTTP, TypeTCP, TypeDNS, TypeTLS, TypeJourney}

// Spec is a probe as configured, before it is checked and compiled by Build.
// Strings are as written: Build parses templates, patterns and paths.
type Spec struct {
	ID          string
	Name        string
	ComponentID string
	Type        string
	Interval    time.Duration
	Timeout     time.Duration

	FailureThreshold int // 2 if 0
	SuccessThreshold int // 2 if 0
	Quorum           int // 1 if 0
	// Regions the probe runs in; only "local" (this process) if empty.
	// Results from other regions come from remote probe agents.
	Regions []string

	// DegradedAfter marks a run slower than this degraded (for a journey,
	// all steps together); 0 never.
	DegradedAfter time.Duration

	// Target is host:port for tcp and tls, and the name to look up for dns.
	Target string

	// http and journey. An http probe has exactly one step.
	Steps              []StepSpec
	InsecureSkipVerify bool
	FollowRedirects    bool
	MaxRedirects       int   // 5 if 0
	MaxBodyBytes       int64 // 1 MiB if 0

	// tls
	ServerName    string
	ExpiryWarning time.Duration

	// dns
	RecordType string // A if empty
	Resolver   string // host:port
	Expect     []string
}

// StepSpec is one HTTP request of an http or journey probe.
type StepSpec struct {
	Name          string // required in a journey
	Method        string // GET if empty
	URL           string
	Headers       []HeaderSpec
	Body          string
	Status        []string // "200", "2xx", "200-204"; 200-299 if empty
	BodyContains  []string
	BodyMatches   []string
	JSON          []JSONSpec
	Captures      []CaptureSpec
	DegradedAfter time.Duration
}

// HeaderSpec is one request header; Value is a template.
type HeaderSpec struct{ Name, Value string }

// JSONSpec asserts on the values a JSON path selects: at least one equals
// Equals and matches Matches (when set); Exists says whether any must be
// there at all.
type JSONSpec struct {
	Path    string
	Equals  *string
	Matches string
	Exists  *bool
}

// CaptureSpec stores a value from a response in a variable for later steps:
// from a JSON path, a header, or a regular expression's first group (or the
// whole match). Set exactly one source.
type CaptureSpec struct {
	Name   string
	JSON   string
	Header string
	Regex  string
}

// FieldError is one problem in a Spec; Field is a path inside it, such as
// "steps[2].captures[0].json", in the configuration's spelling.
type FieldError struct {
	Field  string
	Reason string
}

func (e FieldError) Error() string { return e.Field + ": " + e.Reason }

// SpecError lists every problem Build found.
type SpecError []FieldError

func (e SpecError) Error() string {
	parts := make([]string, len(e))
	for i, f := range e {
		parts[i] = f.Error()
	}
	return strings.Join(parts, "; ")
}

// BuildOptions are what Build needs from outside the spec.
type BuildOptions struct {
	// Getenv reads ${env:NAME} secrets.
	Getenv func(string) string
	// RootCAs to trust for https and tls probes; the system's if nil.
	RootCAs *x509.CertPool
	// MinInterval is the shortest interval allowed; 0 means no floor.
	MinInterval time.Duration
}

// Build checks a spec and compiles it into a runnable Probe. A bad spec
// returns a SpecError naming each bad field.
func Build(s Spec, o BuildOptions) (*Probe, error) {
	b := &builder{opts: o}
	if o.Getenv == nil {
		b.opts.Getenv = func(string) string { return "" }
	}
	p := &Probe{ID: s.ID, Name: s.Name, ComponentID: s.ComponentID, Interval: s.Interval, Timeout: s.Timeout,
		FailureThreshold: orDefault(s.FailureThreshold, 2), SuccessThreshold: orDefault(s.SuccessThreshold, 2), Quorum: orDefault(s.Quorum, 1)}
	if s.Interval <= 0 {
		b.add("interval", "must be more than 0s")
	} else if o.MinInterval > 0 && s.Interval < o.MinInterval {
		b.add("interval", "%s is below the floor of %s (probes.min_interval)", s.Interval, o.MinInterval)
	}
	if s.Timeout <= 0 {
		b.add("timeout", "must be more than 0s")
	} else if s.Timeout >= s.Interval && s.Interval > 0 {
		b.add("timeout", "%s must be shorter than the interval (%s)", s.Timeout, s.Interval)
	}
	for _, f := range []struct {
		name string
		v    int
	}{{"failure_threshold", s.FailureThreshold}, {"success_threshold", s.SuccessThreshold}, {"quorum", s.Quorum}} {
		if f.v < 0 || f.v > 100 {
			b.add(f.name, "%d is not between 1 and 100", f.v)
		}
	}
	seenRegion := map[string]bool{}
	for i, r := range s.Regions {
		if !validName(r) {
			b.add(fmt.Sprintf("regions[%d]", i), "%q is not a region name", r)
		} else if seenRegion[r] {
			b.add(fmt.Sprintf("regions[%d]", i), "%q is listed twice", r)
		}
		seenRegion[r] = true
	}
	p.Regions = s.Regions
	if n := max(len(s.Regions), 1); p.Quorum > n {
		b.add("quorum", "%d is more than the %d region(s) the probe runs in", p.Quorum, n)
	}
	if s.DegradedAfter < 0 || (s.DegradedAfter > 0 && s.Timeout > 0 && s.DegradedAfter >= s.Timeout) {
		b.add("degraded_after", "%s must be more than 0s and shorter than the timeout (%s)", s.DegradedAfter, s.Timeout)
	}
	switch s.Type {
	case TypeHTTP, TypeJourney:
		p.Checker = b.http(s)
	case TypeTCP:
		b.hostPort("target", s.Target)
		p.Checker = &TCP{Address: s.Target, DegradedAfter: s.DegradedAfter}
	case TypeTLS:
		b.hostPort("target", s.Target)
		if s.ExpiryWarning < 0 {
			b.add("expiry_warning", "must not be negative")
		}
		p.Checker = &TLS{Address: s.Target, ServerName: s.ServerName, ExpiryWarning: s.ExpiryWarning, RootCAs: o.RootCAs}
	case TypeDNS:
		d := &DNS{Name: s.Target, Resolver: s.Resolver, Expect: s.Expect, DegradedAfter: s.DegradedAfter}
		rt := strings.ToUpper(s.RecordType)
		if rt == "" {
			rt = "A"
		}
		var ok bool
		if d.Type, ok = RecordTypes[rt]; !ok {
			b.add("record_type", "unknown record type %q; use one of A, AAAA, CNAME, MX, NS, TXT, SRV, PTR, CAA, SOA", s.RecordType)
		}
		if s.Target == "" {
			b.add("target", "a name to look up is required")
		}
		if s.Resolver != "" {
			b.hostPort("resolver", s.Resolver)
		}
		p.Checker = d
	default:
		b.add("type", "unknown probe type %q; use http, tcp, dns, tls or journey", s.Type)
	}
	if len(b.errs) > 0 {
		return nil, b.errs
	}
	return p, nil
}

func orDefault(v, def int) int {
	if v == 0 {
		return def
	}
	return v
}

type builder struct {
	opts    BuildOptions
	errs    SpecError
	secrets redactor
}

func (b *builder) add(field, format string, args ...any) {
	b.errs = append(b.errs, FieldError{Field: field, Reason: fmt.Sprintf(format, args...)})
}

func (b *builder) hostPort(field, v string) {
	host, port, err := splitHostPort(v)
	if err != nil || host == "" {
		b.add(field, "%q is not host:port", v)
		return
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		b.add(field, "%q: port must be 1-65535", v)
	}
}

func splitHostPort(v string) (string, string, error) {
	i := strings.LastIndexByte(v, ':')
	if i < 0 {
		return "", "", fmt.Errorf("missing port")
	}
	host := strings.TrimSuffix(strings.TrimPrefix(v[:i], "["), "]")
	return host, v[i+1:], nil
}

func (b *builder) http(s Spec) Checker {
	h := &HTTP{journey: s.Type == TypeJourney, degradedAfter: s.DegradedAfter, follow: s.FollowRedirects,
		maxRedirects: s.MaxRedirects, maxBody: s.MaxBodyBytes}
	if h.maxRedirects == 0 {
		h.maxRedirects = defaultMaxRedirects
	}
	if h.maxRedirects < 0 || h.maxRedirects > 50 {
		b.add("max_redirects", "%d is not between 1 and 50", s.MaxRedirects)
	}
	if h.maxBody == 0 {
		h.maxBody = defaultMaxBody
	}
	if h.maxBody < 0 || h.maxBody > 64<<20 {
		b.add("max_body", "%d is not between 1 and 67108864 bytes", s.MaxBodyBytes)
	}
	switch {
	case s.Type == TypeHTTP && len(s.Steps) != 1:
		b.add("target", "an http probe makes one request")
	case s.Type == TypeJourney && len(s.Steps) == 0:
		b.add("steps", "a journey needs at least one step")
	case len(s.Steps) > 50:
		b.add("steps", "at most 50 steps")
	}
	defined := map[string]bool{}
	names := map[string]int{}
	for i, ss := range s.Steps {
		path := fmt.Sprintf("steps[%d]", i)
		if s.Type == TypeHTTP {
			path = ""
		}
		if h.journey {
			if ss.Name == "" {
				b.add(path+".name", "each step needs a name")
			} else if j, dup := names[ss.Name]; dup {
				b.add(path+".name", "%q is the name of step %d too", ss.Name, j+1)
			}
			names[ss.Name] = i
		}
		h.steps = append(h.steps, b.step(path, ss, defined))
	}
	h.transport = newTransport(s.InsecureSkipVerify, b.opts.RootCAs)
	h.secrets = b.secrets
	return h
}

func join(prefix, field string) string {
	if prefix == "" {
		return field
	}
	return prefix + "." + field
}

// step compiles one request; defined holds the variables captured by the
// steps before it and gains this step's captures.
func (b *builder) step(path string, ss StepSpec, defined map[string]bool) *step {
	st := &step{name: ss.Name, method: strings.ToUpper(ss.Method), degradedAfter: ss.DegradedAfter}
	if st.method == "" {
		st.method = http.MethodGet
	}
	if !validMethod(st.method) {
		b.add(join(path, "method"), "%q is not an HTTP method", ss.Method)
	}
	urlField := join(path, "url")
	if path == "" {
		urlField = "target"
	}
	st.url = b.template(urlField, ss.URL, defined, false)
	if ss.URL == "" {
		b.add(urlField, "a URL is required")
	} else if !st.url.IsZero() {
		// Check the fixed part: scheme and host must not come from a variable.
		fixed := st.url.expand(map[string]string{})
		if u, err := url.Parse(fixed); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			b.add(urlField, "%q is not an absolute http(s) URL", ss.URL)
		}
	}
	for j, hd := range ss.Headers {
		f := join(path, fmt.Sprintf("headers[%d]", j))
		if !validHeaderName(hd.Name) {
			b.add(f, "%q is not a header name", hd.Name)
		}
		st.headers = append(st.headers, headerTemplate{name: hd.Name, value: b.template(f, hd.Value, defined, true)})
	}
	st.body = b.template(join(path, "body"), ss.Body, defined, true)
	for j, v := range ss.Status {
		r, err := parseStatus(v)
		if err != nil {
			b.add(join(path, fmt.Sprintf("expect.status[%d]", j)), "%v", err)
			continue
		}
		st.status = append(st.status, r)
	}
	if len(ss.Status) == 0 {
		st.status = []statusRange{{200, 299}}
	}
	st.contains = ss.BodyContains
	for j, v := range ss.BodyMatches {
		re, err := regexp.Compile(v)
		if err != nil {
			b.add(join(path, fmt.Sprintf("expect.body_matches[%d]", j)), "bad regular expression: %s", regexReason(err))
			continue
		}
		st.matches = append(st.matches, re)
	}
	for j, js := range ss.JSON {
		f := join(path, fmt.Sprintf("expect.json[%d]", j))
		jp, err := ParseJSONPath(js.Path)
		if err != nil {
			b.add(f+".path", "%v", err)
			continue
		}
		a := jsonAssertion{path: jp, equals: js.Equals, exists: js.Exists}
		if js.Matches != "" {
			re, err := regexp.Compile(js.Matches)
			if err != nil {
				b.add(f+".matches", "bad regular expression: %s", regexReason(err))
				continue
			}
			a.matches = re
		}
		if a.equals == nil && a.exists == nil && a.matches == nil {
			b.add(f, "say what to check: equals, matches or exists")
		}
		st.json = append(st.json, a)
	}
	for j, cs := range ss.Captures {
		f := join(path, fmt.Sprintf("captures[%d]", j))
		c := capture{name: cs.Name}
		if !validName(cs.Name) {
			b.add(f+".name", "%q is not a variable name (letters, digits, '_', '-', '.')", cs.Name)
		}
		n := 0
		if cs.JSON != "" {
			n++
			jp, err := ParseJSONPath(cs.JSON)
			if err != nil {
				b.add(f+".json", "%v", err)
			}
			c.json = &jp
		}
		if cs.Header != "" {
			n++
			if !validHeaderName(cs.Header) {
				b.add(f+".header", "%q is not a header name", cs.Header)
			}
			c.header = cs.Header
		}
		if cs.Regex != "" {
			n++
			re, err := regexp.Compile(cs.Regex)
			if err != nil {
				b.add(f+".regex", "bad regular expression: %s", regexReason(err))
			}
			c.regex = re
		}
		if n != 1 {
			b.add(f, "give exactly one of json, header or regex")
			continue
		}
		st.captures = append(st.captures, c)
	}
	// Captures are usable from the next step on.
	for _, c := range ss.Captures {
		defined[c.Name] = true
	}
	return st
}

// template parses a template field, checks its variables were captured by an
// earlier step and binds its secrets. Secrets are only allowed where secret
// says (headers and bodies), so they never land in a URL that error
// messages or logs could carry.
func (b *builder) template(field, v string, defined map[string]bool, secret bool) Template {
	t, err := ParseTemplate(v)
	if err != nil {
		b.add(field, "%v", err)
		return Template{}
	}
	for _, name := range t.Vars() {
		if !defined[name] {
			b.add(field, "variable ${%s} is not captured by an earlier step", name)
		}
	}
	if len(t.Env()) > 0 && !secret {
		b.add(field, "${env:…} secrets are allowed in headers and bodies only")
		return t
	}
	bound, secrets, err := t.bindEnv(b.opts.Getenv)
	if err != nil {
		b.add(field, "%v", err)
		return t
	}
	b.secrets = append(b.secrets, secrets...)
	return bound
}

func parseStatus(v string) (statusRange, error) {
	v = strings.TrimSpace(v)
	bad := fmt.Errorf("%q is not a status code, a class such as 2xx, or a range such as 200-204", v)
	if len(v) == 3 && strings.HasSuffix(strings.ToLower(v), "xx") {
		d := v[0]
		if d < '1' || d > '5' {
			return statusRange{}, bad
		}
		lo := int(d-'0') * 100
		return statusRange{lo, lo + 99}, nil
	}
	lo, hi, isRange := strings.Cut(v, "-")
	a, err := strconv.Atoi(lo)
	if err != nil || a < 100 || a > 599 {
		return statusRange{}, bad
	}
	if !isRange {
		return statusRange{a, a}, nil
	}
	z, err := strconv.Atoi(hi)
	if err != nil || z < a || z > 599 {
		return statusRange{}, bad
	}
	return statusRange{a, z}, nil
}

func validMethod(m string) bool {
	if m == "" || len(m) > 20 {
		return false
	}
	for _, r := range m {
		if r < 'A' || r > 'Z' {
			return false
		}
	}
	return true
}

func validHeaderName(n string) bool {
	if n == "" || len(n) > 100 {
		return false
	}
	for _, r := range n {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		case strings.ContainsRune("!#$%&'*+-.^_`|~", r):
		default:
			return false
		}
	}
	return true
}

func regexReason(err error) string {
	return strings.TrimPrefix(err.Error(), "error parsing regexp: ")
}
