package main

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
	"github.com/goccy/go-yaml/token"

	"github.com/statusd/statusd/data"
)

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

func newChecker(file string, getenv func(string) string) *checker {
	return &checker{
		file:    file,
		getenv:  getenv,
		lines:   map[string]int{},
		tokPath: map[*token.Token]string{},
		tokNode: map[*token.Token]ast.Node{},
	}
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

// yamlError turns an error of goccy/go-yaml into a problem on the line of
// the token it carries. Its typed errors say what went wrong in fields
// (TypeError.DstType, OverflowError.SrcNum…) and GetMessage gives the bare
// message, without the "[line:col]" prefix and source excerpt of Error(), so
// the message is written here in the file's own terms (the key's path, "a
// whole number") rather than in Go's.
func (c *checker) yamlError(err error) {
	var ye yaml.Error
	if !errors.As(err, &ye) {
		// Not from the library's decoder or parser: noPanic's message.
		first, _, _ := strings.Cut(err.Error(), "\n")
		c.addAt(1, "%s", cleanMessage(first))
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
		if strings.Contains(se.Message, "\t") || (tk != nil && strings.HasPrefix(tk.Value, "\t")) {
			c.addAt(line, "invalid YAML: a tab character; indent with spaces")
			return
		}
		c.addAt(line, "invalid YAML: %s", cleanMessage(se.GetMessage()))
	default:
		c.addAt(line, "%s%s", prefix, cleanMessage(ye.GetMessage()))
	}
}

// cleanMessage makes a library message fit one "file:line: reason" line:
// control characters from the input are escaped (a tab shows as \t) and the
// first letter is lower case, as in statusd's own reasons.
func cleanMessage(s string) string {
	var b strings.Builder
	for _, r := range strings.TrimSpace(s) {
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
