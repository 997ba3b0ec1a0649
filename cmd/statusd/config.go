package main

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"net"
	"net/mail"
	"net/url"
	"os"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata"
	"unicode"
	"unicode/utf8" // page.time_zone must validate the same on hosts without /usr/share/zoneinfo

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
	"github.com/goccy/go-yaml/token"

	"github.com/statusd/statusd/data"
)

// Config is a loaded and validated configuration file, defaults filled in.
// Build one with LoadConfig or ParseConfig; the zero value is not useful.
type Config struct {
	Page     PageConfig
	Server   ServerConfig
	Database DatabaseConfig
	Snapshot SnapshotConfig
	Cache    CacheConfig
	Journeys []JourneyConfig
	Probes   []ProbeConfig
	SLOs     []SLOConfig
	Notifier NotifierConfig
	Redis    *RedisConfig // nil unless the file has a redis section
	Embed    EmbedConfig  // config_embed.go
}

// PageConfig describes the public page.
type PageConfig struct {
	ID       string // Statuspage-style page id; derived from Name when not configured
	Name     string
	URL      string // absolute http(s) URL without a trailing slash, query or fragment
	TimeZone string // IANA name, "UTC" by default
	Location *time.Location
	Language string // BCP 47 tag, "en" by default
	Branding BrandingConfig
}

// BrandingConfig holds the optional look and links of the page.
type BrandingConfig struct {
	AccentColor string // "#rrggbb" in lower case, or ""; contrast against white is at least 4.5:1
	SupportURL  string
	Links       []LinkConfig
}

// LinkConfig is one footer link.
type LinkConfig struct {
	Name string
	URL  string
}

// ServerConfig is the HTTP server.
type ServerConfig struct {
	Listen          string
	ReadTimeout     time.Duration
	WriteTimeout    time.Duration
	IdleTimeout     time.Duration
	BodyLimit       int // bytes
	ShutdownTimeout time.Duration
}

// DatabaseConfig is the SQLite store.
type DatabaseConfig struct {
	Path string
}

// SnapshotConfig controls how often the page and API are rebuilt.
type SnapshotConfig struct {
	Debounce    time.Duration
	Refresh     time.Duration
	StaleAfter  time.Duration
	HistoryDays int
}

// CacheConfig sets the cache headers of public responses; every value is a
// whole number of seconds.
type CacheConfig struct {
	MaxAge               time.Duration
	StaleWhileRevalidate time.Duration
	StaleIfError         time.Duration
	CDNMaxAge            time.Duration
}

// JourneyConfig is one customer journey and its components in file order.
type JourneyConfig struct {
	ID          string
	Name        string
	Description string
	Components  []ComponentConfig
}

// ComponentConfig is one component or, when Components is not empty, a group
// of components (one level deep).
type ComponentConfig struct {
	ID                 string
	Name               string
	Description        string
	Showcase           bool
	OnlyShowIfDegraded bool
	Components         []ComponentConfig
}

// IsGroup reports whether c groups other components.
func (c ComponentConfig) IsGroup() bool { return len(c.Components) > 0 }

// Probe types.
const (
	ProbeHTTP = "http"
	ProbeTCP  = "tcp"
	ProbeDNS  = "dns"
	ProbeTLS  = "tls"
)

// ProbeConfig is one synthetic check of a component.
type ProbeConfig struct {
	ID        string
	Component string // id of a component that is not a group
	Type      string // ProbeHTTP, ProbeTCP, ProbeDNS or ProbeTLS
	Target    string // URL for http, host:port for tcp and tls, host name for dns
	Interval  time.Duration
	Timeout   time.Duration
}

// SLOConfig is a service level objective of a journey.
type SLOConfig struct {
	ID        string
	Journey   string
	Objective float64 // percent, 0 < Objective < 100
	Window    time.Duration
}

// NotifierConfig holds the delivery channels.
type NotifierConfig struct {
	Email *EmailConfig // nil when email is not configured
}

// EmailConfig is the SMTP relay used to send mail.
type EmailConfig struct {
	Host     string
	Port     int
	Username string
	Password string
	From     string // an RFC 5322 address, checked with net/mail
}

// RedisConfig is the optional Redis server shared by several statusd nodes.
type RedisConfig struct {
	Address  string
	Password string
	DB       int
}

// Environment variables that override secrets in the file.
const (
	envSMTPPassword  = "STATUSD_SMTP_PASSWORD"
	envRedisPassword = "STATUSD_REDIS_PASSWORD"
)

// maxConfigSize bounds what ParseConfig reads; a real file is a few KiB.
const maxConfigSize = 1 << 20

// Problem is one thing wrong in a configuration file. Line is 1-based, or 0
// when the problem is not about one line (the file cannot be read).
type Problem struct {
	File   string
	Line   int
	Reason string
}

func (p Problem) String() string {
	if p.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", p.File, p.Line, p.Reason)
	}
	return fmt.Sprintf("%s: %s", p.File, p.Reason)
}

// ConfigError lists every problem found in a configuration file, in line order.
type ConfigError struct {
	Problems []Problem
	err      error // the cause when the file could not be read
}

func (e *ConfigError) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// Unwrap returns the I/O error when the file could not be read, so that
// errors.Is(err, fs.ErrNotExist) works.
func (e *ConfigError) Unwrap() error { return e.err }

// LoadConfig reads and parses the configuration file at path; see ParseConfig.
// Every error, including a file that cannot be read, is a *ConfigError.
func LoadConfig(path string, getenv func(string) string) (*Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, readError(path, err)
	}
	defer f.Close() //nolint:errcheck // read only; nothing to flush
	// One byte past the limit lets ParseConfig say that the file is too big.
	src, err := io.ReadAll(io.LimitReader(f, maxConfigSize+1))
	if err != nil {
		return nil, readError(path, err)
	}
	return ParseConfig(path, src, getenv)
}

func readError(path string, err error) error {
	reason := err.Error()
	var pe *fs.PathError
	if errors.As(err, &pe) {
		reason = pe.Err.Error()
	}
	return &ConfigError{Problems: []Problem{{File: path, Reason: "cannot read the file: " + reason}}, err: err}
}

// ParseConfig parses and validates a configuration file named name (used in
// messages) with contents src. Secrets written as ${NAME} are read with getenv,
// and STATUSD_SMTP_PASSWORD and STATUSD_REDIS_PASSWORD, when set, replace the
// passwords of notifier.email and redis. A nil getenv is an empty environment.
//
// The error, if any, is a *ConfigError with one "file:line: reason" problem per
// mistake: unknown or repeated keys, values of the wrong type or out of range,
// repeated ids, references to unknown journeys or components.
func ParseConfig(name string, src []byte, getenv func(string) string) (*Config, error) {
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	c := &checker{file: name, lines: map[string]int{}, tokPath: map[*token.Token]string{}, tokNode: map[*token.Token]ast.Node{}, getenv: getenv}
	cfg := c.parse(src)
	if len(c.problems) > 0 {
		return nil, c.err()
	}
	return cfg, nil
}

// Catalog returns the journeys and components in file order for
// data.Store.SyncCatalog.
func (c *Config) Catalog() data.Catalog {
	cat := data.Catalog{Journeys: make([]data.CatalogJourney, 0, len(c.Journeys))}
	for _, j := range c.Journeys {
		cj := data.CatalogJourney{ID: j.ID, Name: j.Name, Description: j.Description}
		for _, cc := range j.Components {
			cj.Components = append(cj.Components, catalogComponent(cc))
		}
		cat.Journeys = append(cat.Journeys, cj)
	}
	return cat
}

func catalogComponent(c ComponentConfig) data.CatalogComponent {
	cc := data.CatalogComponent{
		ID:                 c.ID,
		Name:               c.Name,
		Description:        c.Description,
		Showcase:           c.Showcase,
		OnlyShowIfDegraded: c.OnlyShowIfDegraded,
	}
	for _, ch := range c.Components {
		cc.Children = append(cc.Children, catalogComponent(ch))
	}
	return cc
}

// componentCount counts groups and the components in them.
func (c *Config) componentCount() int {
	n := 0
	for _, j := range c.Journeys {
		for _, cc := range j.Components {
			n += 1 + len(cc.Components)
		}
	}
	return n
}

// The raw types mirror the file. Pointers tell a missing key from a zero
// value; durations stay strings so that their errors name the field and line.
type rawConfig struct {
	Page     *rawPage     `yaml:"page"`
	Server   rawServer    `yaml:"server"`
	Database rawDatabase  `yaml:"database"`
	Snapshot rawSnapshot  `yaml:"snapshot"`
	Cache    rawCache     `yaml:"cache"`
	Journeys []rawJourney `yaml:"journeys"`
	Probes   []rawProbe   `yaml:"probes"`
	SLOs     []rawSLO     `yaml:"slos"`
	Notifier rawNotifier  `yaml:"notifier"`
	Redis    *rawRedis    `yaml:"redis"`
	Embed    rawEmbed     `yaml:"embed"`
}

type rawPage struct {
	ID       *string     `yaml:"id"`
	Name     *string     `yaml:"name"`
	URL      *string     `yaml:"url"`
	TimeZone *string     `yaml:"time_zone"`
	Language *string     `yaml:"language"`
	Branding rawBranding `yaml:"branding"`
}

type rawBranding struct {
	AccentColor *string   `yaml:"accent_color"`
	SupportURL  *string   `yaml:"support_url"`
	Links       []rawLink `yaml:"links"`
}

type rawLink struct {
	Name *string `yaml:"name"`
	URL  *string `yaml:"url"`
}

type rawServer struct {
	Listen          *string `yaml:"listen"`
	ReadTimeout     *string `yaml:"read_timeout"`
	WriteTimeout    *string `yaml:"write_timeout"`
	IdleTimeout     *string `yaml:"idle_timeout"`
	BodyLimit       *int    `yaml:"body_limit"`
	ShutdownTimeout *string `yaml:"shutdown_timeout"`
}

type rawDatabase struct {
	Path *string `yaml:"path"`
}

type rawSnapshot struct {
	Debounce    *string `yaml:"debounce"`
	Refresh     *string `yaml:"refresh"`
	StaleAfter  *string `yaml:"stale_after"`
	HistoryDays *int    `yaml:"history_days"`
}

type rawCache struct {
	MaxAge               *string `yaml:"max_age"`
	StaleWhileRevalidate *string `yaml:"stale_while_revalidate"`
	StaleIfError         *string `yaml:"stale_if_error"`
	CDNMaxAge            *string `yaml:"cdn_max_age"`
}

type rawJourney struct {
	ID          *string        `yaml:"id"`
	Name        *string        `yaml:"name"`
	Description *string        `yaml:"description"`
	Components  []rawComponent `yaml:"components"`
}

type rawComponent struct {
	ID                 *string        `yaml:"id"`
	Name               *string        `yaml:"name"`
	Description        *string        `yaml:"description"`
	Showcase           *bool          `yaml:"showcase"`
	OnlyShowIfDegraded *bool          `yaml:"only_show_if_degraded"`
	Components         []rawComponent `yaml:"components"`
}

type rawProbe struct {
	ID        *string `yaml:"id"`
	Component *string `yaml:"component"`
	Type      *string `yaml:"type"`
	Target    *string `yaml:"target"`
	Interval  *string `yaml:"interval"`
	Timeout   *string `yaml:"timeout"`
}

type rawSLO struct {
	ID        *string  `yaml:"id"`
	Journey   *string  `yaml:"journey"`
	Objective *float64 `yaml:"objective"`
	Window    *string  `yaml:"window"`
}

type rawNotifier struct {
	Email *rawEmail `yaml:"email"`
}

type rawEmail struct {
	Host     *string `yaml:"host"`
	Port     *int    `yaml:"port"`
	Username *string `yaml:"username"`
	Password *string `yaml:"password"`
	From     *string `yaml:"from"`
}

type rawRedis struct {
	Address  *string `yaml:"address"`
	Password *string `yaml:"password"`
	DB       *int    `yaml:"db"`
}

// checker parses one file and collects its problems. lines maps a path such
// as "journeys[1].components[0].id" to the line of its key (or, for a list
// item, of the item); tokPath and tokNode map the tokens goccy reports in
// decode errors back to paths and nodes.
type checker struct {
	file     string
	getenv   func(string) string
	lines    map[string]int
	tokPath  map[*token.Token]string
	tokNode  map[*token.Token]ast.Node
	problems []Problem
}

func (c *checker) err() error {
	sort.SliceStable(c.problems, func(i, j int) bool { return c.problems[i].Line < c.problems[j].Line })
	out := c.problems[:0]
	seen := map[Problem]bool{}
	for _, p := range c.problems {
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	return &ConfigError{Problems: out}
}

// addAt records a problem on a line.
func (c *checker) addAt(line int, format string, args ...any) {
	if line < 1 {
		line = 1
	}
	c.problems = append(c.problems, Problem{File: c.file, Line: line, Reason: fmt.Sprintf(format, args...)})
}

// add records a problem with the value at path, on its line.
func (c *checker) add(path, format string, args ...any) {
	reason := fmt.Sprintf(format, args...)
	if path != "" {
		reason = path + ": " + reason
	}
	c.addAt(c.line(path), "%s", reason)
}

// invalid records a *data.InvalidError (from data.ValidateID or
// data.ValidateText, called with the path as field) at path.
func (c *checker) invalid(path string, err error) {
	var inv *data.InvalidError
	if errors.As(err, &inv) {
		c.add(path, "%s", inv.Reason)
		return
	}
	c.add(path, "%v", err)
}

// missing records a required key that is absent, or present with an empty
// value.
func (c *checker) missing(parent, key string) {
	path := key
	if parent != "" {
		path = parent + "." + key
	}
	switch {
	case c.has(path):
		c.add(path, "must not be empty")
	case parent == "":
		c.addAt(1, "missing required key %q", key)
	default:
		c.add(parent, "missing required key %q", key)
	}
}

// line returns the line of path or, when it is not in the file (a default,
// or behind an alias), of its nearest ancestor; 1 for the top level.
func (c *checker) line(path string) int {
	for path != "" {
		if l, ok := c.lines[path]; ok {
			return l
		}
		i := strings.LastIndexAny(path, ".[")
		if i < 0 {
			break
		}
		path = path[:i]
	}
	return 1
}

func (c *checker) has(path string) bool {
	_, ok := c.lines[path]
	return ok
}

func (c *checker) parse(src []byte) *Config {
	if len(src) > maxConfigSize {
		c.addAt(1, "the file is larger than %d KiB; this is not a statusd configuration", maxConfigSize>>10)
		return nil
	}
	// Duplicate keys are allowed here and reported by walk, all of them and
	// with the line of the first one.
	var f *ast.File
	err := noPanic(func() (err error) {
		f, err = parser.ParseBytes(src, 0, parser.AllowDuplicateMapKey())
		return err
	})
	if err != nil {
		c.yamlError(err)
		return nil
	}
	var body ast.Node
	var docs []*ast.DocumentNode
	if f != nil {
		docs = f.Docs
	}
	for i, d := range docs {
		if d == nil || d.Body == nil {
			continue
		}
		if body != nil {
			c.addAt(nodeLine(d), "a configuration is one YAML document; found a second one (document %d)", i+1)
			return nil
		}
		body = d.Body
	}
	if body == nil {
		c.addAt(1, "the file is empty; page and journeys are required")
		return nil
	}
	if m := unwrap(body); m == nil || (m.Type() != ast.MappingType && m.Type() != ast.MappingValueType) {
		c.addAt(nodeLine(body), "the file must be a mapping of keys (page, journeys, …), not %s", describe(body))
		return nil
	}
	c.walk(body, "", reflect.TypeFor[rawConfig]())
	if len(c.problems) > 0 {
		return nil
	}
	var raw rawConfig
	// walk has reported repeated keys; what is left are keys written beside a
	// merge key ("<<: *defaults"), which override the merged ones.
	err = noPanic(func() error {
		return yaml.NodeToValue(body, &raw, yaml.DisallowUnknownField(), yaml.AllowDuplicateMapKey())
	})
	if err != nil {
		c.yamlError(err)
		return nil
	}
	return c.validate(&raw)
}

// noPanic runs a call into goccy/go-yaml, turning a panic into an error:
// the library is fuzzed but not proven, and odd input should give a message,
// not crash check-config or serve. Panics in statusd's own code are not
// caught, so that FuzzConfig finds them.
func noPanic(f func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("the YAML parser failed on this file: %v", r)
		}
	}()
	return f()
}

// unwrap returns the node behind anchors and tags; nil for an alias.
func unwrap(n ast.Node) ast.Node {
	for {
		switch v := n.(type) {
		case *ast.AnchorNode:
			n = v.Value
		case *ast.TagNode:
			n = v.Value
		case *ast.AliasNode:
			return nil
		default:
			return n
		}
	}
}

// nodeLine returns the line where n starts.
func nodeLine(n ast.Node) int {
	switch v := n.(type) {
	case nil:
		return 0
	case *ast.DocumentNode:
		if v.Body != nil {
			return nodeLine(v.Body)
		}
		if v.Start != nil && v.Start.Position != nil {
			return v.Start.Position.Line
		}
		return 0
	case *ast.MappingNode:
		if len(v.Values) > 0 {
			return nodeLine(v.Values[0])
		}
	case *ast.MappingValueNode:
		if v.Key != nil {
			return nodeLine(v.Key)
		}
	}
	if tk := n.GetToken(); tk != nil && tk.Position != nil {
		return tk.Position.Line
	}
	return 0
}

func keyString(k ast.MapKeyNode) string {
	switch v := k.(type) {
	case *ast.StringNode:
		return v.Value
	case *ast.MappingKeyNode:
		if v.Value != nil {
			return v.Value.String()
		}
	}
	if tk := k.GetToken(); tk != nil {
		return tk.Value
	}
	return k.String()
}

// walk indexes the lines of n and its children and reports unknown and
// repeated keys, checking mappings against the yaml tags of t. Type mismatches
// are left to the decoder.
func (c *checker) walk(n ast.Node, path string, t reflect.Type) {
	if n == nil {
		return
	}
	if tk := n.GetToken(); tk != nil {
		c.tokPath[tk] = path
		c.tokNode[tk] = n
	}
	n = unwrap(n)
	if n == nil {
		return
	}
	if tk := n.GetToken(); tk != nil {
		c.tokPath[tk] = path
		c.tokNode[tk] = n
	}
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch v := n.(type) {
	case *ast.MappingNode:
		c.walkMapping(v.Values, path, t)
	case *ast.MappingValueNode:
		c.walkMapping([]*ast.MappingValueNode{v}, path, t)
	case *ast.SequenceNode:
		var et reflect.Type
		if t != nil && t.Kind() == reflect.Slice {
			et = t.Elem()
		}
		for i, item := range v.Values {
			p := fmt.Sprintf("%s[%d]", path, i)
			c.lines[p] = nodeLine(item)
			c.walk(item, p, et)
		}
	}
}

func (c *checker) walkMapping(values []*ast.MappingValueNode, path string, t reflect.Type) {
	var fields map[string]reflect.Type
	if t != nil && t.Kind() == reflect.Struct {
		fields = yamlFields(t)
	}
	first := map[string]int{}
	for _, mv := range values {
		if mv == nil || mv.Key == nil {
			continue
		}
		if tk := mv.GetToken(); tk != nil {
			c.tokPath[tk] = path
			c.tokNode[tk] = mv
		}
		if mv.Key.IsMergeKey() {
			// "<<: *defaults" is resolved by the decoder; the merged keys
			// have no lines of their own here.
			continue
		}
		key := keyString(mv.Key)
		line := nodeLine(mv.Key)
		p := key
		if path != "" {
			p = path + "." + key
		}
		if l, dup := first[key]; dup {
			c.addAt(line, "duplicate key %q %s (first at line %d)", key, where(path), l)
			continue
		}
		first[key] = line
		if tk := mv.Key.GetToken(); tk != nil {
			c.tokPath[tk] = p
		}
		var ft reflect.Type
		if fields != nil {
			var ok bool
			ft, ok = fields[key]
			if !ok {
				reason := fmt.Sprintf("unknown key %q %s", key, where(path))
				if s := suggest(key, fields); s != "" {
					reason += fmt.Sprintf(" (did you mean %q?)", s)
				}
				c.addAt(line, "%s", reason)
				continue
			}
		}
		c.lines[p] = line
		c.walk(mv.Value, p, ft)
	}
}

// where says where a key is: "in page", "at the top level".
func where(path string) string {
	if path == "" {
		return "at the top level"
	}
	return "in " + path
}

func yamlFields(t reflect.Type) map[string]reflect.Type {
	m := map[string]reflect.Type{}
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name != "" && name != "-" {
			m[name] = f.Type
		}
	}
	return m
}

// suggest returns the known key closest to key when it is a likely typo.
func suggest(key string, fields map[string]reflect.Type) string {
	best, bestD := "", 3
	for name := range fields {
		if d := editDistance(key, name); d < bestD || (d == bestD && name < best) {
			best, bestD = name, d
		}
	}
	if bestD > 2 || bestD >= len(key) {
		return ""
	}
	return best
}

func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return math.MaxInt
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// describe names what a node holds, for "expected X, got Y".
func describe(n ast.Node) string {
	if n == nil {
		return "nothing"
	}
	if u := unwrap(n); u != nil {
		n = u
	}
	switch n.Type() {
	case ast.MappingType, ast.MappingValueType:
		return "a mapping"
	case ast.SequenceType:
		return "a list"
	case ast.NullType:
		return "null"
	case ast.AliasType:
		return "an alias"
	}
	if tk := n.GetToken(); tk != nil {
		v := tk.Value
		if r := []rune(v); len(r) > 40 {
			v = string(r[:40]) + "…"
		}
		return strconv.Quote(v)
	}
	return "a " + n.Type().YAMLName()
}

var (
	ansiEscape = regexp.MustCompile(`\x1b\[[0-9;]*m`)
	posPrefix  = regexp.MustCompile(`^\[\d+:\d+\]\s*`)
)

// yamlError turns an error of goccy/go-yaml into a problem on its line,
// without goccy's "[line:col]" prefix, source excerpt and colours.
func (c *checker) yamlError(err error) {
	var ye yaml.Error
	if !errors.As(err, &ye) {
		c.addAt(1, "%s", cleanMessage(err.Error()))
		return
	}
	tk := ye.GetToken()
	line := 1
	if tk != nil && tk.Position != nil {
		line = tk.Position.Line
	}
	path, known := "", false
	if tk != nil {
		path, known = c.tokPath[tk]
	}
	node := c.tokNode[tk]
	prefix := ""
	if known && path != "" {
		prefix = path + ": "
	}
	var (
		te *yaml.TypeError
		ue *yaml.UnexpectedNodeTypeError
		oe *yaml.OverflowError
		se *yaml.SyntaxError
	)
	switch {
	case errors.As(err, &te):
		got := "a " + kindWord(te.SrcType)
		if node != nil {
			got = describe(node)
		}
		c.addAt(line, "%sexpected %s, got %s", prefix, kindWord(te.DstType), got)
	case errors.As(err, &ue):
		got := ue.Actual.YAMLName()
		if node != nil {
			got = describe(node)
		}
		c.addAt(line, "%sexpected %s, got %s", prefix, nodeWord(ue.Expected), got)
	case errors.As(err, &oe):
		c.addAt(line, "%s%s is too large for %s", prefix, oe.SrcNum, kindWord(oe.DstType))
	case errors.As(err, &se):
		msg := se.Message
		if strings.Contains(msg, "\t") || (tk != nil && strings.HasPrefix(tk.Value, "\t")) {
			c.addAt(line, "invalid YAML: a tab character; indent with spaces")
			return
		}
		c.addAt(line, "invalid YAML: %s", cleanMessage(msg))
	default:
		c.addAt(line, "%s%s", prefix, cleanMessage(ye.GetMessage()))
	}
}

func cleanMessage(s string) string {
	s = ansiEscape.ReplaceAllString(s, "")
	s, _, _ = strings.Cut(s, "\n")
	s = strings.TrimSpace(posPrefix.ReplaceAllString(strings.TrimSpace(s), ""))
	var b strings.Builder
	for _, r := range s {
		if unicode.IsControl(r) || r == utf8.RuneError {
			q := strconv.QuoteRune(r)
			b.WriteString(q[1 : len(q)-1]) // '\t' → \t
		} else {
			b.WriteRune(r)
		}
	}
	s = b.String()
	if s == "" {
		return "cannot parse the file"
	}
	return strings.ToLower(s[:1]) + s[1:]
}

func kindWord(t reflect.Type) string {
	if t == nil {
		return "a value"
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "a list"
	case reflect.Struct, reflect.Map:
		return "a mapping"
	}
	return "a " + t.Kind().String()
}

func nodeWord(t ast.NodeType) string {
	switch t {
	case ast.MappingType, ast.MappingValueType:
		return "a mapping"
	case ast.SequenceType:
		return "a list"
	case ast.StringType:
		return "a string"
	case ast.IntegerType:
		return "a whole number"
	case ast.FloatType:
		return "a number"
	case ast.BoolType:
		return "true or false"
	}
	return "a " + t.YAMLName()
}

// validate checks the decoded file and builds the Config, filling in defaults.
func (c *checker) validate(raw *rawConfig) *Config {
	cfg := &Config{}
	c.page(raw.Page, &cfg.Page)
	c.server(&raw.Server, &cfg.Server)
	cfg.Database.Path = "statusd.db"
	if raw.Database.Path != nil {
		if *raw.Database.Path == "" {
			c.add("database.path", "must not be empty")
		} else {
			cfg.Database.Path = *raw.Database.Path
		}
	}
	c.snapshot(&raw.Snapshot, &cfg.Snapshot)
	c.cache(&raw.Cache, &cfg.Cache)
	kinds := c.journeys(raw.Journeys, cfg)
	c.probes(raw.Probes, kinds, cfg)
	c.slos(raw.SLOs, cfg)
	c.notifier(&raw.Notifier, &cfg.Notifier)
	c.redis(raw.Redis, cfg)
	c.embed(&raw.Embed, &cfg.Embed)
	return cfg
}

var (
	languagePattern = regexp.MustCompile(`^[a-zA-Z]{2,3}(-[a-zA-Z0-9]{2,8})*$`)
	colorPattern    = regexp.MustCompile(`^#[0-9a-fA-F]{6}$`)
)

func (c *checker) page(raw *rawPage, p *PageConfig) {
	if raw == nil {
		c.missing("", "page")
		return
	}
	if raw.Name == nil {
		c.missing("page", "name")
	} else if err := data.ValidateText("page.name", *raw.Name, 200, true, false); err != nil {
		c.invalid("page.name", err)
	} else {
		p.Name = *raw.Name
	}
	if raw.ID != nil {
		if err := data.ValidateID("page.id", *raw.ID); err != nil {
			c.invalid("page.id", err)
		}
		p.ID = *raw.ID
	} else {
		p.ID = derivePageID(p.Name)
	}
	if raw.URL == nil || *raw.URL == "" {
		c.missing("page", "url")
	} else if u, ok := c.httpURL("page.url", *raw.URL, true); ok {
		p.URL = u
	}
	p.TimeZone = "UTC"
	if raw.TimeZone != nil {
		p.TimeZone = *raw.TimeZone
	}
	loc, err := loadLocation(p.TimeZone)
	if err != nil {
		c.add("page.time_zone", "%q is not a time zone; use an IANA name such as Europe/Berlin or UTC", p.TimeZone)
	}
	p.Location = loc
	p.Language = "en"
	if raw.Language != nil {
		if !languagePattern.MatchString(*raw.Language) {
			c.add("page.language", "%q is not a language tag such as en, de or pt-BR", *raw.Language)
		}
		p.Language = *raw.Language
	}
	b := &raw.Branding
	if b.AccentColor != nil && *b.AccentColor != "" {
		col := *b.AccentColor
		if !colorPattern.MatchString(col) {
			c.add("page.branding.accent_color", "%q is not a colour in the form #rrggbb", col)
		} else if r := contrastWithWhite(col); r < 4.5 {
			c.add("page.branding.accent_color", "%q has a contrast ratio of %.2f:1 against white; at least 4.5:1 is needed for text and links (WCAG 2 AA)", col, math.Floor(r*100)/100)
		} else {
			p.Branding.AccentColor = strings.ToLower(col)
		}
	}
	if b.SupportURL != nil && *b.SupportURL != "" {
		if u, ok := c.httpURL("page.branding.support_url", *b.SupportURL, false); ok {
			p.Branding.SupportURL = u
		}
	}
	if len(b.Links) > 10 {
		c.add("page.branding.links", "has %d links; the limit is 10", len(b.Links))
	}
	for i, l := range b.Links {
		path := fmt.Sprintf("page.branding.links[%d]", i)
		var link LinkConfig
		if l.Name == nil {
			c.missing(path, "name")
		} else if err := data.ValidateText(path+".name", *l.Name, 100, true, false); err != nil {
			c.invalid(path+".name", err)
		} else {
			link.Name = *l.Name
		}
		if l.URL == nil || *l.URL == "" {
			c.missing(path, "url")
		} else if u, ok := c.httpURL(path+".url", *l.URL, false); ok {
			link.URL = u
		}
		p.Branding.Links = append(p.Branding.Links, link)
	}
}

// loadLocation is time.LoadLocation without "Local", which would make the
// page depend on the machine it runs on.
func loadLocation(name string) (*time.Location, error) {
	if name == "" || name == "Local" {
		return nil, errors.New("not an IANA time zone")
	}
	return time.LoadLocation(name)
}

// derivePageID makes a stable 12-character page id from the page name, in
// the style of Statuspage ids.
func derivePageID(name string) string {
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
	sum := sha256.Sum256([]byte(name))
	id := make([]byte, 12)
	for i := range id {
		id[i] = alphabet[int(sum[i])%len(alphabet)]
	}
	return string(id)
}

// httpURL checks an absolute http or https URL. For the page URL (base) a
// query or fragment is refused and a trailing slash trimmed.
func (c *checker) httpURL(path, s string, base bool) (string, bool) {
	u, err := url.Parse(s)
	switch {
	case err != nil || !u.IsAbs() || u.Opaque != "":
		c.add(path, "%q is not an absolute URL such as https://status.example.com", s)
	case u.Scheme != "http" && u.Scheme != "https":
		c.add(path, "%q must start with http:// or https://", s)
	case u.Host == "" || u.Hostname() == "":
		c.add(path, "%q has no host name", s)
	case u.User != nil:
		c.add(path, "%q must not contain a user name or password", s)
	case base && (u.RawQuery != "" || u.ForceQuery || u.Fragment != ""):
		c.add(path, "%q must not have a query (?…) or fragment (#…)", s)
	default:
		if base {
			return strings.TrimRight(s, "/"), true
		}
		return s, true
	}
	return "", false
}

// contrastWithWhite returns the WCAG 2 contrast ratio of "#rrggbb" against
// white: (1 + 0.05) / (L + 0.05) with L its relative luminance.
func contrastWithWhite(hex string) float64 {
	v, _ := strconv.ParseUint(hex[1:], 16, 32) // hex was checked by colorPattern
	lin := func(c uint64) float64 {
		s := float64(c) / 255
		if s <= 0.04045 {
			return s / 12.92
		}
		return math.Pow((s+0.055)/1.055, 2.4)
	}
	l := 0.2126*lin(v>>16&0xff) + 0.7152*lin(v>>8&0xff) + 0.0722*lin(v&0xff)
	return 1.05 / (l + 0.05)
}

// durationRange describes the allowed values of a duration field.
type durationRange struct {
	def, min, max time.Duration // max 0: no upper bound
	minExclusive  bool          // min itself is not allowed
	seconds       bool          // a whole number of seconds
	example       string
}

const day = 24 * time.Hour

// duration parses the duration at path, or returns the default when it is
// absent. On a problem it reports it and returns the default.
func (c *checker) duration(path string, raw *string, r durationRange) time.Duration {
	if raw == nil {
		return r.def
	}
	ex := r.example
	if ex == "" {
		ex = "30s, 5m"
	}
	d, err := parseDuration(*raw)
	switch {
	case errors.Is(err, errNegative):
		c.add(path, "%q must not be negative", *raw)
	case err != nil:
		c.add(path, "%q is not a duration (e.g. %s)", *raw, ex)
	case r.minExclusive && d <= r.min:
		c.add(path, "%q must be more than %s", *raw, formatDuration(r.min))
	case d < r.min:
		c.add(path, "%q must be at least %s", *raw, formatDuration(r.min))
	case r.max > 0 && d > r.max:
		if r.minExclusive {
			c.add(path, "%q must be at most %s", *raw, formatDuration(r.max))
		} else {
			c.add(path, "%q must be between %s and %s", *raw, formatDuration(r.min), formatDuration(r.max))
		}
	case r.seconds && d%time.Second != 0:
		c.add(path, "%q must be a whole number of seconds", *raw)
	default:
		return d
	}
	return r.def
}

var (
	daysPattern = regexp.MustCompile(`^([0-9]+)d(.*)$`)
	errNegative = errors.New("negative duration")
)

// parseDuration is time.ParseDuration that also accepts a leading number of
// days ("30d", "1d12h"). Negative durations are refused.
func parseDuration(s string) (time.Duration, error) {
	var d time.Duration
	if m := daysPattern.FindStringSubmatch(s); m != nil {
		n, err := strconv.ParseInt(m[1], 10, 64)
		if err != nil || n > int64(math.MaxInt64/int64(day)) {
			return 0, errors.New("too many days")
		}
		d = time.Duration(n) * day
		if s = m[2]; s == "" {
			return d, nil
		}
	}
	rest, err := time.ParseDuration(s)
	if err != nil {
		return 0, err
	}
	if rest < 0 || (rest == 0 && strings.HasPrefix(s, "-")) {
		return 0, errNegative
	}
	if rest > math.MaxInt64-d {
		return 0, errors.New("duration too long")
	}
	return d + rest, nil
}

// formatDuration writes d the way a person would in the file: 30d, 1h, 5m, 250ms.
func formatDuration(d time.Duration) string {
	if d >= day && d%day == 0 {
		return fmt.Sprintf("%dd", d/day)
	}
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}

// intRange checks an optional integer, returning def when it is absent or wrong.
func (c *checker) intRange(path string, raw *int, def, lo, hi int, unit string) int {
	if raw == nil {
		return def
	}
	if *raw < lo || *raw > hi {
		c.add(path, "%d must be between %d and %d%s", *raw, lo, hi, unit)
		return def
	}
	return *raw
}

func (c *checker) server(raw *rawServer, s *ServerConfig) {
	s.Listen = ":8080"
	if raw.Listen != nil {
		if err := checkHostPort(*raw.Listen, true); err != nil {
			c.add("server.listen", "%q is not a listen address such as :8080 or 127.0.0.1:8080 (%v)", *raw.Listen, err)
		} else {
			s.Listen = *raw.Listen
		}
	}
	positive := func(def time.Duration) durationRange {
		return durationRange{def: def, min: 0, minExclusive: true, max: day}
	}
	s.ReadTimeout = c.duration("server.read_timeout", raw.ReadTimeout, positive(10*time.Second))
	s.WriteTimeout = c.duration("server.write_timeout", raw.WriteTimeout, positive(10*time.Second))
	s.IdleTimeout = c.duration("server.idle_timeout", raw.IdleTimeout, positive(60*time.Second))
	s.ShutdownTimeout = c.duration("server.shutdown_timeout", raw.ShutdownTimeout, positive(15*time.Second))
	s.BodyLimit = c.intRange("server.body_limit", raw.BodyLimit, 1<<20, 1<<10, 64<<20, " bytes (1 KiB to 64 MiB)")
}

// checkHostPort checks "host:port" with a numeric port; a listen address may
// leave the host empty.
func checkHostPort(s string, listen bool) error {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		var ae *net.AddrError
		if errors.As(err, &ae) {
			return errors.New(ae.Err)
		}
		return err
	}
	if host == "" && !listen {
		return errors.New("missing host")
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 0 || n > 65535 || (!listen && n == 0) {
		return fmt.Errorf("port %q is not a number from 1 to 65535", port)
	}
	return nil
}

func (c *checker) snapshot(raw *rawSnapshot, s *SnapshotConfig) {
	s.Debounce = c.duration("snapshot.debounce", raw.Debounce, durationRange{def: 250 * time.Millisecond, max: 10 * time.Second, example: "250ms, 1s"})
	s.Refresh = c.duration("snapshot.refresh", raw.Refresh, durationRange{def: time.Minute, min: time.Second, max: day})
	s.StaleAfter = c.duration("snapshot.stale_after", raw.StaleAfter, durationRange{def: 5 * time.Minute, min: time.Second, max: 7 * day})
	if raw.StaleAfter != nil && s.StaleAfter <= s.Refresh {
		c.add("snapshot.stale_after", "%s must be longer than snapshot.refresh (%s), or a healthy node would report not ready", formatDuration(s.StaleAfter), formatDuration(s.Refresh))
	}
	s.HistoryDays = c.intRange("snapshot.history_days", raw.HistoryDays, 90, 1, 365, " days")
}

func (c *checker) cache(raw *rawCache, s *CacheConfig) {
	r := func(def time.Duration) durationRange {
		return durationRange{def: def, max: 365 * day, seconds: true}
	}
	s.MaxAge = c.duration("cache.max_age", raw.MaxAge, r(30*time.Second))
	s.StaleWhileRevalidate = c.duration("cache.stale_while_revalidate", raw.StaleWhileRevalidate, r(60*time.Second))
	s.StaleIfError = c.duration("cache.stale_if_error", raw.StaleIfError, r(24*time.Hour))
	s.CDNMaxAge = c.duration("cache.cdn_max_age", raw.CDNMaxAge, r(60*time.Second))
}

// componentKind tells probes what a component id refers to.
type componentKind int

const (
	plainComponent componentKind = iota + 1
	groupComponent
)

// journeys checks journeys and components and returns the kind of every
// component id.
func (c *checker) journeys(raw []rawJourney, cfg *Config) map[string]componentKind {
	kinds := map[string]componentKind{}
	if len(raw) == 0 {
		if c.has("journeys") {
			c.add("journeys", "must list at least one journey")
		} else {
			c.missing("", "journeys")
		}
		return kinds
	}
	journeyAt := map[string]int{}
	componentAt := map[string]int{}
	var component func(rc rawComponent, path, group string) ComponentConfig
	component = func(rc rawComponent, path, group string) ComponentConfig {
		cc := ComponentConfig{Showcase: true}
		if id, ok := c.id(path, rc.ID, componentAt); ok {
			cc.ID = id
			kinds[id] = plainComponent
		}
		cc.Name = c.text(path, "name", rc.Name, 200, true)
		cc.Description = c.text(path, "description", rc.Description, 2000, false)
		if rc.Showcase != nil {
			cc.Showcase = *rc.Showcase
		}
		if rc.OnlyShowIfDegraded != nil {
			cc.OnlyShowIfDegraded = *rc.OnlyShowIfDegraded
		}
		if !c.has(path + ".components") {
			return cc
		}
		if group != "" {
			c.add(path+".components", "%s is inside group %q and cannot have components of its own; groups are one level deep", quoteOr(cc.ID, "this component"), group)
			return cc
		}
		if len(rc.Components) == 0 {
			c.add(path+".components", "a group needs at least one component")
			return cc
		}
		if cc.ID != "" {
			kinds[cc.ID] = groupComponent
		}
		for i, ch := range rc.Components {
			cc.Components = append(cc.Components, component(ch, fmt.Sprintf("%s.components[%d]", path, i), or(cc.ID, "?")))
		}
		return cc
	}
	for i, rj := range raw {
		path := fmt.Sprintf("journeys[%d]", i)
		var j JourneyConfig
		j.ID, _ = c.id(path, rj.ID, journeyAt)
		j.Name = c.text(path, "name", rj.Name, 200, true)
		j.Description = c.text(path, "description", rj.Description, 2000, false)
		if len(rj.Components) == 0 {
			if c.has(path + ".components") {
				c.add(path+".components", "must list at least one component")
			} else {
				c.missing(path, "components")
			}
		}
		for k, rc := range rj.Components {
			j.Components = append(j.Components, component(rc, fmt.Sprintf("%s.components[%d]", path, k), ""))
		}
		cfg.Journeys = append(cfg.Journeys, j)
	}
	return kinds
}

func quoteOr(s, alt string) string {
	if s == "" {
		return alt
	}
	return strconv.Quote(s)
}

func or(s, alt string) string {
	if s == "" {
		return alt
	}
	return s
}

// id checks the required id of the item at path and that it was not used
// before in the same namespace (seen maps ids to their lines).
func (c *checker) id(path string, raw *string, seen map[string]int) (string, bool) {
	if raw == nil {
		c.missing(path, "id")
		return "", false
	}
	p := path + ".id"
	if err := data.ValidateID(p, *raw); err != nil {
		c.invalid(p, err)
		return "", false
	}
	if l, dup := seen[*raw]; dup {
		c.add(p, "%q is used twice (first at line %d)", *raw, l)
		return "", false
	}
	seen[*raw] = c.line(p)
	return *raw, true
}

// text checks an optional or required text field of the item at path.
func (c *checker) text(path, key string, raw *string, maxLen int, required bool) string {
	if raw == nil {
		if required {
			c.missing(path, key)
		}
		return ""
	}
	p := path + "." + key
	if err := data.ValidateText(p, *raw, maxLen, required, !required); err != nil {
		c.invalid(p, err)
		return ""
	}
	return *raw
}

func (c *checker) probes(raw []rawProbe, kinds map[string]componentKind, cfg *Config) {
	seen := map[string]int{}
	for i, rp := range raw {
		path := fmt.Sprintf("probes[%d]", i)
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
		if rp.Type == nil || *rp.Type == "" {
			c.missing(path, "type")
		} else {
			p.Type = *rp.Type
			switch p.Type {
			case ProbeHTTP, ProbeTCP, ProbeDNS, ProbeTLS:
			default:
				c.add(path+".type", "unknown probe type %q; use http, tcp, dns or tls", p.Type)
			}
		}
		if rp.Target == nil || *rp.Target == "" {
			c.missing(path, "target")
		} else {
			p.Target = *rp.Target
			c.probeTarget(path+".target", p.Type, p.Target)
		}
		p.Interval = c.duration(path+".interval", rp.Interval, durationRange{def: 30 * time.Second, min: 5 * time.Second, max: time.Hour})
		p.Timeout = c.duration(path+".timeout", rp.Timeout, durationRange{def: 5 * time.Second, minExclusive: true, max: time.Hour})
		if p.Timeout >= p.Interval {
			c.add(path+".timeout", "%s must be shorter than the interval (%s)", formatDuration(p.Timeout), formatDuration(p.Interval))
		}
		cfg.Probes = append(cfg.Probes, p)
	}
}

var hostnamePattern = regexp.MustCompile(`^(?i:[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)(\.(?i:[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?))*\.?$`)

func (c *checker) probeTarget(path, typ, target string) {
	switch typ {
	case ProbeHTTP:
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

func (c *checker) slos(raw []rawSLO, cfg *Config) {
	journeys := map[string]bool{}
	for _, j := range cfg.Journeys {
		if j.ID != "" {
			journeys[j.ID] = true
		}
	}
	seen := map[string]int{}
	for i, rs := range raw {
		path := fmt.Sprintf("slos[%d]", i)
		var s SLOConfig
		s.ID, _ = c.id(path, rs.ID, seen)
		if rs.Journey == nil || *rs.Journey == "" {
			c.missing(path, "journey")
		} else {
			s.Journey = *rs.Journey
			if !journeys[s.Journey] {
				c.add(path+".journey", "unknown journey %q", s.Journey)
			}
		}
		if rs.Objective == nil {
			c.missing(path, "objective")
		} else {
			s.Objective = *rs.Objective
			if !(s.Objective > 0 && s.Objective < 100) {
				c.add(path+".objective", "%s must be a percentage between 0 and 100, such as 99.9", strconv.FormatFloat(s.Objective, 'g', -1, 64))
			}
		}
		s.Window = c.duration(path+".window", rs.Window, durationRange{def: 30 * day, min: day, max: 90 * day, example: "7d, 30d"})
		cfg.SLOs = append(cfg.SLOs, s)
	}
}

var envReference = regexp.MustCompile(`^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$`)

// secret resolves a secret field: the environment variable override when it
// is set, else ${NAME} from the environment, else the value as written.
func (c *checker) secret(path string, raw *string, override string) string {
	if v := c.getenv(override); v != "" {
		return v
	}
	if raw == nil {
		return ""
	}
	if m := envReference.FindStringSubmatch(*raw); m != nil {
		v := c.getenv(m[1])
		if v == "" {
			c.add(path, "environment variable %s is empty or not set", m[1])
		}
		return v
	}
	if strings.Contains(*raw, "${") {
		// The value is not repeated: it may be a secret.
		c.add(path, "mixes text with ${…}; only a whole value such as ${%s} is read from the environment", strings.TrimPrefix(override, "STATUSD_"))
		return ""
	}
	return *raw
}

func (c *checker) notifier(raw *rawNotifier, n *NotifierConfig) {
	if raw.Email == nil {
		return
	}
	re := raw.Email
	e := &EmailConfig{Port: 587}
	if re.Host == nil || *re.Host == "" {
		c.missing("notifier.email", "host")
	} else if !hostnamePattern.MatchString(*re.Host) && net.ParseIP(*re.Host) == nil {
		c.add("notifier.email.host", "%q is not a host name such as smtp.example.com", *re.Host)
	} else {
		e.Host = *re.Host
	}
	e.Port = c.intRange("notifier.email.port", re.Port, 587, 1, 65535, "")
	if re.Username != nil {
		e.Username = *re.Username
	}
	e.Password = c.secret("notifier.email.password", re.Password, envSMTPPassword)
	if e.Username != "" && e.Password == "" && (re.Password == nil || !envReference.MatchString(*re.Password)) {
		c.add("notifier.email", "username is set but password is not (set it here as ${NAME} or in %s)", envSMTPPassword)
	}
	if re.From == nil || *re.From == "" {
		c.missing("notifier.email", "from")
	} else if _, err := mail.ParseAddress(*re.From); err != nil {
		c.add("notifier.email.from", "%q is not an email address such as \"Acme Status <status@acme.example>\" (%v)", *re.From, err)
	} else {
		e.From = *re.From
	}
	n.Email = e
}

func (c *checker) redis(raw *rawRedis, cfg *Config) {
	if raw == nil {
		return
	}
	r := &RedisConfig{}
	if raw.Address == nil || *raw.Address == "" {
		c.missing("redis", "address")
	} else if err := checkHostPort(*raw.Address, false); err != nil {
		c.add("redis.address", "%q is not host:port, such as 127.0.0.1:6379 (%v)", *raw.Address, err)
	} else {
		r.Address = *raw.Address
	}
	r.Password = c.secret("redis.password", raw.Password, envRedisPassword)
	if raw.DB != nil {
		if *raw.DB < 0 {
			c.add("redis.db", "%d must not be negative", *raw.DB)
		} else {
			r.DB = *raw.DB
		}
	}
	cfg.Redis = r
}
