package main

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/statusd/statusd/probes"
)

// Probe types, as the file spells them.
const (
	ProbeHTTP    = probes.TypeHTTP
	ProbeTCP     = probes.TypeTCP
	ProbeDNS     = probes.TypeDNS
	ProbeTLS     = probes.TypeTLS
	ProbeJourney = probes.TypeJourney
)

// ProbingConfig holds what all probes share.
type ProbingConfig struct {
	// Region names this process's vantage point in results.
	Region string
	// Concurrency bounds the checks running at once.
	Concurrency int
	// MinInterval is the shortest interval a probe may have.
	MinInterval time.Duration
	// ResultsRetention is how long raw results are kept; aggregates are
	// kept for snapshot.history_days.
	ResultsRetention time.Duration
	// MajorOutageShare is the share of a component's probes that must be
	// down for a major outage; fewer is a partial outage.
	MajorOutageShare float64
	// DemoUpstream is where serve runs the demo shop in-process (host:port),
	// or "" for not at all.
	DemoUpstream string
}

// ProbeConfig is one synthetic check of a component: the checked Spec and
// the compiled probe.
type ProbeConfig struct {
	ID        string
	Component string // id of a component that is not a group
	Type      string // ProbeHTTP, ProbeTCP, ProbeDNS, ProbeTLS or ProbeJourney
	Target    string // URL for http, host:port for tcp and tls, host name for dns; "" for a journey
	Interval  time.Duration
	Timeout   time.Duration
	Spec      probes.Spec
}

type rawProbing struct {
	Region           *string  `yaml:"region"`
	Concurrency      *int     `yaml:"concurrency"`
	MinInterval      *string  `yaml:"min_interval"`
	ResultsRetention *string  `yaml:"results_retention"`
	MajorOutageShare *float64 `yaml:"major_outage_share"`
	DemoUpstream     *string  `yaml:"demo_upstream"`
}

type rawProbe struct {
	ID               *string  `yaml:"id"`
	Name             *string  `yaml:"name"`
	Component        *string  `yaml:"component"`
	Type             *string  `yaml:"type"`
	Target           *string  `yaml:"target"`
	Interval         *string  `yaml:"interval"`
	Timeout          *string  `yaml:"timeout"`
	FailureThreshold *int     `yaml:"failure_threshold"`
	SuccessThreshold *int     `yaml:"success_threshold"`
	Regions          []string `yaml:"regions"`
	Quorum           *int     `yaml:"quorum"`
	DegradedAfter    *string  `yaml:"degraded_after"`

	// http (and, for the client options, journey)
	Method             *string           `yaml:"method"`
	Headers            map[string]string `yaml:"headers"`
	Body               *string           `yaml:"body"`
	Expect             *rawExpect        `yaml:"expect"`
	InsecureSkipVerify *bool             `yaml:"insecure_skip_verify"`
	FollowRedirects    *bool             `yaml:"follow_redirects"`
	MaxRedirects       *int              `yaml:"max_redirects"`
	MaxBody            *int              `yaml:"max_body"`
	Steps              []rawStep         `yaml:"steps"`

	// tls
	ServerName    *string `yaml:"server_name"`
	ExpiryWarning *string `yaml:"expiry_warning"`

	// dns
	RecordType *string  `yaml:"record_type"`
	Resolver   *string  `yaml:"resolver"`
	Answers    []string `yaml:"answers"`
}

type rawStep struct {
	Name          *string           `yaml:"name"`
	Method        *string           `yaml:"method"`
	URL           *string           `yaml:"url"`
	Headers       map[string]string `yaml:"headers"`
	Body          *string           `yaml:"body"`
	Expect        *rawExpect        `yaml:"expect"`
	Captures      []rawCapture      `yaml:"captures"`
	DegradedAfter *string           `yaml:"degraded_after"`
}

type rawExpect struct {
	Status       []any        `yaml:"status"`
	BodyContains []string     `yaml:"body_contains"`
	BodyMatches  []string     `yaml:"body_matches"`
	JSON         []rawJSONRow `yaml:"json"`
}

type rawJSONRow struct {
	Path    *string `yaml:"path"`
	Equals  any     `yaml:"equals"`
	Matches *string `yaml:"matches"`
	Exists  *bool   `yaml:"exists"`
}

type rawCapture struct {
	Name   *string `yaml:"name"`
	JSON   *string `yaml:"json"`
	Header *string `yaml:"header"`
	Regex  *string `yaml:"regex"`
}

func (c *checker) probing(file *rawConfig, cfg *Config) {
	raw := &file.Probing
	p := &cfg.Probing
	p.Region = "local"
	if raw.Region != nil {
		if err := validRegion(*raw.Region); err != nil {
			c.add("probing.region", "%v", err)
		} else {
			p.Region = *raw.Region
		}
	}
	p.Concurrency = c.intRange("probing.concurrency", raw.Concurrency, 256, 1, 10000, "")
	p.MinInterval = c.duration("probing.min_interval", raw.MinInterval, durationRange{def: 5 * time.Second, min: 100 * time.Millisecond, max: time.Hour})
	p.ResultsRetention = c.duration("probing.results_retention", raw.ResultsRetention, durationRange{def: 7 * day, min: time.Hour, max: 365 * day})
	p.MajorOutageShare = 1
	if raw.MajorOutageShare != nil {
		if v := *raw.MajorOutageShare; math.IsNaN(v) || v <= 0 || v > 1 {
			c.add("probing.major_outage_share", "%v must be more than 0 and at most 1", v)
		} else {
			p.MajorOutageShare = v
		}
	}
	if raw.DemoUpstream != nil && *raw.DemoUpstream != "" {
		if err := checkHostPort(*raw.DemoUpstream, true); err != nil {
			c.add("probing.demo_upstream", "%q is not host:port, such as 127.0.0.1:8081 (%v)", *raw.DemoUpstream, err)
		} else {
			p.DemoUpstream = *raw.DemoUpstream
		}
	}
}

var regionPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}$`)

func validRegion(r string) error {
	if !regionPattern.MatchString(r) {
		return fmt.Errorf("%q must be 1-64 lower-case letters, digits, '-' or '_'", r)
	}
	return nil
}

// probes checks the probes against the components checked by journeys and
// compiles each with probes.Build, which checks templates, variables,
// secrets, patterns and JSON paths.
func (c *checker) probes(file *rawConfig, cfg *Config) {
	raw := file.Probes
	kinds := cfg.componentKinds()
	seen := map[string]int{}
	for i, rp := range raw {
		path := fmt.Sprintf("probes[%d]", i)
		before := len(c.problems)
		var p ProbeConfig
		p.ID, _ = c.id(path, rp.ID, seen)
		if rp.Component == nil || *rp.Component == "" {
			c.missing(path, "component")
		} else {
			p.Component = *rp.Component
			switch kinds[p.Component] {
			case plainComponent:
			case groupComponent:
				c.add(path+".component", "%q is a group; probe one of the components in it", p.Component)
			default:
				c.add(path+".component", "unknown component %q", p.Component)
			}
		}
		typeOK := false
		if rp.Type == nil || *rp.Type == "" {
			c.missing(path, "type")
		} else {
			p.Type = *rp.Type
			switch p.Type {
			case ProbeHTTP, ProbeTCP, ProbeDNS, ProbeTLS, ProbeJourney:
				typeOK = true
			default:
				c.add(path+".type", "unknown probe type %q; use http, tcp, dns, tls or journey", p.Type)
			}
		}
		if rp.Target != nil {
			p.Target = *rp.Target
		}
		switch {
		case p.Type == ProbeJourney && rp.Target != nil:
			c.add(path+".target", "a journey has no target; each step has a url")
		case p.Type != ProbeJourney && typeOK && p.Target == "":
			c.missing(path, "target")
		case typeOK && p.Target != "":
			c.probeTarget(path+".target", p.Type, p.Target)
		}
		p.Interval = c.duration(path+".interval", rp.Interval, durationRange{def: 30 * time.Second, min: cfg.Probing.MinInterval, max: time.Hour})
		p.Timeout = c.duration(path+".timeout", rp.Timeout, durationRange{def: 5 * time.Second, minExclusive: true, max: time.Hour})
		if p.Timeout >= p.Interval {
			c.add(path+".timeout", "%s must be shorter than the interval (%s)", formatDuration(p.Timeout), formatDuration(p.Interval))
		}
		p.Spec = c.probeSpec(path, &rp, p)
		// The checks only the probes package can do: templates and their
		// variables, secrets from the environment, patterns, JSON paths.
		if typeOK && (p.Target != "" || p.Type == ProbeJourney) {
			if _, err := probes.Build(p.Spec, probes.BuildOptions{Getenv: c.getenv}); err != nil {
				c.specError(path, &rp, err, before)
			}
		}
		cfg.Probes = append(cfg.Probes, p)
	}
}

// probeSpec turns a raw probe into a probes.Spec; fields already reported
// keep their defaults.
func (c *checker) probeSpec(path string, rp *rawProbe, p ProbeConfig) probes.Spec {
	s := probes.Spec{ID: p.ID, ComponentID: p.Component, Type: p.Type, Target: p.Target, Interval: p.Interval, Timeout: p.Timeout,
		Regions: rp.Regions, ServerName: deref(rp.ServerName), RecordType: deref(rp.RecordType), Resolver: deref(rp.Resolver),
		Expect: rp.Answers}
	if rp.Name != nil {
		s.Name = c.text(path, "name", rp.Name, 200, false)
	}
	s.FailureThreshold = c.intRange(path+".failure_threshold", rp.FailureThreshold, 2, 1, 100, "")
	s.SuccessThreshold = c.intRange(path+".success_threshold", rp.SuccessThreshold, 2, 1, 100, "")
	s.Quorum = c.intRange(path+".quorum", rp.Quorum, 1, 1, 100, "")
	s.DegradedAfter = c.duration(path+".degraded_after", rp.DegradedAfter, durationRange{minExclusive: true, max: time.Hour})
	s.ExpiryWarning = c.duration(path+".expiry_warning", rp.ExpiryWarning, durationRange{def: 14 * day, max: 365 * day, example: "14d, 30d"})
	s.InsecureSkipVerify = rp.InsecureSkipVerify != nil && *rp.InsecureSkipVerify
	s.FollowRedirects = rp.FollowRedirects == nil || *rp.FollowRedirects
	s.MaxRedirects = c.intRange(path+".max_redirects", rp.MaxRedirects, 5, 1, 50, "")
	s.MaxBodyBytes = int64(c.intRange(path+".max_body", rp.MaxBody, 1<<20, 1, 64<<20, " bytes"))
	httpish := p.Type == ProbeHTTP || p.Type == ProbeJourney
	switch p.Type {
	case ProbeHTTP:
		if len(rp.Steps) > 0 {
			c.add(path+".steps", "only a journey has steps; use type: journey")
		}
		s.Steps = []probes.StepSpec{c.stepSpec(path, rawStep{Method: rp.Method, URL: rp.Target, Headers: rp.Headers, Body: rp.Body, Expect: rp.Expect})}
	case ProbeJourney:
		if len(rp.Steps) == 0 {
			c.missing(path, "steps")
		}
		for j, st := range rp.Steps {
			s.Steps = append(s.Steps, c.stepSpec(fmt.Sprintf("%s.steps[%d]", path, j), st))
		}
		for _, k := range []struct {
			set  bool
			name string
		}{{rp.Method != nil, "method"}, {rp.Headers != nil, "headers"}, {rp.Body != nil, "body"}, {rp.Expect != nil, "expect"}} {
			if k.set {
				c.add(path+"."+k.name, "a journey sets %s on each step", k.name)
			}
		}
	}
	if !httpish {
		for _, k := range []struct {
			set  bool
			name string
		}{{rp.Method != nil, "method"}, {rp.Headers != nil, "headers"}, {rp.Body != nil, "body"}, {rp.Expect != nil, "expect"},
			{len(rp.Steps) > 0, "steps"}, {rp.FollowRedirects != nil, "follow_redirects"}, {rp.MaxBody != nil, "max_body"},
			{rp.InsecureSkipVerify != nil, "insecure_skip_verify"}, {rp.MaxRedirects != nil, "max_redirects"}} {
			if k.set {
				c.add(path+"."+k.name, "only http and journey probes have %s", k.name)
			}
		}
	}
	if p.Type != ProbeDNS {
		for _, k := range []struct {
			set  bool
			name string
		}{{rp.RecordType != nil, "record_type"}, {rp.Resolver != nil, "resolver"}, {rp.Answers != nil, "answers"}} {
			if k.set {
				c.add(path+"."+k.name, "only dns probes have %s", k.name)
			}
		}
	}
	if p.Type != ProbeTLS {
		for _, k := range []struct {
			set  bool
			name string
		}{{rp.ServerName != nil, "server_name"}, {rp.ExpiryWarning != nil, "expiry_warning"}} {
			if k.set {
				c.add(path+"."+k.name, "only tls probes have %s", k.name)
			}
		}
	}
	return s
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func (c *checker) stepSpec(path string, rs rawStep) probes.StepSpec {
	st := probes.StepSpec{Name: deref(rs.Name), Method: deref(rs.Method), URL: deref(rs.URL), Body: deref(rs.Body)}
	st.DegradedAfter = c.duration(path+".degraded_after", rs.DegradedAfter, durationRange{minExclusive: true, max: time.Hour})
	for _, name := range sortedKeys(rs.Headers) {
		st.Headers = append(st.Headers, probes.HeaderSpec{Name: name, Value: rs.Headers[name]})
	}
	if e := rs.Expect; e != nil {
		for j, v := range e.Status {
			switch x := v.(type) {
			case uint64:
				st.Status = append(st.Status, strconv.FormatUint(x, 10))
			case int64:
				st.Status = append(st.Status, strconv.FormatInt(x, 10))
			case int:
				st.Status = append(st.Status, strconv.Itoa(x))
			case string:
				st.Status = append(st.Status, x)
			default:
				c.add(fmt.Sprintf("%s.expect.status[%d]", path, j), "expected a status code such as 200, a class such as 2xx or a range such as 200-204")
			}
		}
		st.BodyContains = e.BodyContains
		st.BodyMatches = e.BodyMatches
		for j, row := range e.JSON {
			f := fmt.Sprintf("%s.expect.json[%d]", path, j)
			js := probes.JSONSpec{Path: deref(row.Path), Matches: deref(row.Matches), Exists: row.Exists}
			if row.Path == nil {
				c.missing(f, "path")
			}
			if row.Equals != nil {
				v, ok := scalarText(row.Equals)
				if !ok {
					c.add(f+".equals", "expected a string, number, true, false or null")
				}
				js.Equals = &v
			}
			st.JSON = append(st.JSON, js)
		}
	}
	for j, rc := range rs.Captures {
		f := fmt.Sprintf("%s.captures[%d]", path, j)
		if rc.Name == nil {
			c.missing(f, "name")
		}
		st.Captures = append(st.Captures, probes.CaptureSpec{Name: deref(rc.Name), JSON: deref(rc.JSON), Header: deref(rc.Header), Regex: deref(rc.Regex)})
	}
	return st
}

// scalarText is how a YAML scalar compares with a JSON value: the way JSON
// writes it.
func scalarText(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case bool:
		return strconv.FormatBool(x), true
	case uint64:
		return strconv.FormatUint(x, 10), true
	case int64:
		return strconv.FormatInt(x, 10), true
	case int:
		return strconv.Itoa(x), true
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), true
	}
	return "", false
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// specError reports what probes.Build found, each at its field's line. The
// spec lists headers in name order; the file has them as a mapping.
// Fields already reported for this probe (from problems[before:]) are
// not reported twice.
func (c *checker) specError(path string, rp *rawProbe, err error, before int) {
	var se probes.SpecError
	if !errors.As(err, &se) {
		c.add(path, "%v", err)
		return
	}
	reported := func(field string) bool {
		for _, p := range c.problems[before:] {
			if strings.HasPrefix(p.Reason, field+": ") {
				return true
			}
		}
		return false
	}
	for _, fe := range se {
		field := fe.Field
		headersOf := rp.Headers
		stepPrefix := ""
		if strings.HasPrefix(field, "steps[") {
			end := strings.IndexByte(field, ']')
			if n, err := strconv.Atoi(field[len("steps["):end]); err == nil && n < len(rp.Steps) {
				headersOf = rp.Steps[n].Headers
				stepPrefix = field[:end+1] + "."
			}
		}
		if rest, ok := strings.CutPrefix(field, stepPrefix+"headers["); ok {
			end := strings.IndexByte(rest, ']')
			if n, err := strconv.Atoi(rest[:end]); err == nil {
				if keys := sortedKeys(headersOf); n < len(keys) {
					field = stepPrefix + "headers." + keys[n]
				}
			}
		}
		if reported(path + "." + field) {
			continue
		}
		c.add(path+"."+field, "%s", fe.Reason)
	}
}

func (c *checker) probeTarget(path, typ, target string) {
	switch typ {
	case ProbeHTTP:
		if strings.Contains(target, "${") {
			return // a template: checked by probes.Build
		}
		c.httpURL(path, target, false)
	case ProbeTCP, ProbeTLS:
		if err := checkHostPort(target, false); err != nil {
			c.add(path, "%q is not host:port, such as db.example.com:5432 (%v)", target, err)
		}
	case ProbeDNS:
		if len(target) > 253 || !hostnamePattern.MatchString(target) {
			c.add(path, "%q is not a host name such as example.com", target)
		}
	}
}

// BuildProbes compiles the configured probes, reading their secrets from
// the environment the file was loaded with.
func (c *Config) BuildProbes() ([]*probes.Probe, error) {
	getenv := c.getenv
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	out := make([]*probes.Probe, 0, len(c.Probes))
	for i, pc := range c.Probes {
		p, err := probes.Build(pc.Spec, probes.BuildOptions{Getenv: getenv})
		if err != nil {
			return nil, fmt.Errorf("probes[%d] (%s): %w", i, pc.ID, err)
		}
		out = append(out, p)
	}
	return out, nil
}

// retarget points the probes that target the demo shop's configured
// address at the address it actually got.
func (c *Config) retarget(from, to string) {
	if from == to {
		return
	}
	for i := range c.Probes {
		s := &c.Probes[i].Spec
		if s.Target == from {
			s.Target = to
		}
		for j := range s.Steps {
			s.Steps[j].URL = strings.Replace(s.Steps[j].URL, "//"+from, "//"+to, 1)
		}
		if c.Probes[i].Target == from {
			c.Probes[i].Target = to
		}
	}
}
