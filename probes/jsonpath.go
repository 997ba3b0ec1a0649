package probes

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// JSONPath is a small, predictable subset of JSONPath (RFC 9535): $ then any
// of .name, ['name'] or ["name"], [index] (negative counts from the end),
// [*] and .* — enough to pick a field out of an API response. Filters,
// slices and recursive descent are not supported.
type JSONPath struct {
	src   string
	steps []jsonStep
}

type jsonStep struct {
	name  string
	index int
	kind  uint8 // stepName, stepIndex, stepAll
}

const (
	stepName uint8 = iota
	stepIndex
	stepAll
)

// ParseJSONPath parses a path such as $.items[0].id or $['a b'][*].
func ParseJSONPath(s string) (JSONPath, error) {
	p := JSONPath{src: s}
	if !strings.HasPrefix(s, "$") {
		return JSONPath{}, fmt.Errorf("JSON path %q must start with $", s)
	}
	i := 1
	for i < len(s) {
		switch s[i] {
		case '.':
			i++
			if i < len(s) && s[i] == '*' {
				p.steps = append(p.steps, jsonStep{kind: stepAll})
				i++
				continue
			}
			j := i
			for j < len(s) && s[j] != '.' && s[j] != '[' {
				j++
			}
			name := s[i:j]
			if name == "" || strings.ContainsAny(name, " \t\n'\"]*") {
				return JSONPath{}, fmt.Errorf("JSON path %q: bad name at byte %d", s, i)
			}
			p.steps = append(p.steps, jsonStep{kind: stepName, name: name})
			i = j
		case '[':
			i++
			if i >= len(s) {
				return JSONPath{}, fmt.Errorf("JSON path %q: unclosed [", s)
			}
			switch c := s[i]; {
			case c == '*':
				if i+1 >= len(s) || s[i+1] != ']' {
					return JSONPath{}, fmt.Errorf("JSON path %q: want ] after *", s)
				}
				p.steps = append(p.steps, jsonStep{kind: stepAll})
				i += 2
			case c == '\'' || c == '"':
				end := strings.IndexByte(s[i+1:], c)
				if end < 0 || i+1+end+1 >= len(s) || s[i+1+end+1] != ']' {
					return JSONPath{}, fmt.Errorf("JSON path %q: unclosed quoted name", s)
				}
				p.steps = append(p.steps, jsonStep{kind: stepName, name: s[i+1 : i+1+end]})
				i += end + 3
			default:
				end := strings.IndexByte(s[i:], ']')
				if end < 0 {
					return JSONPath{}, fmt.Errorf("JSON path %q: unclosed [", s)
				}
				n, err := strconv.Atoi(s[i : i+end])
				if err != nil || n > 1<<20 || n < -(1<<20) {
					return JSONPath{}, fmt.Errorf("JSON path %q: %q is not an index, a quoted name or *", s, s[i:i+end])
				}
				p.steps = append(p.steps, jsonStep{kind: stepIndex, index: n})
				i += end + 1
			}
		default:
			return JSONPath{}, fmt.Errorf("JSON path %q: unexpected %q at byte %d", s, s[i], i)
		}
	}
	return p, nil
}

// String is the path as written.
func (p JSONPath) String() string { return p.src }

// Select returns the values the path picks out of a decoded JSON document
// (as decodeJSON returns it), in document order for objects' [*].
func (p JSONPath) Select(doc any) []any {
	cur := []any{doc}
	for _, st := range p.steps {
		var next []any
		for _, v := range cur {
			switch st.kind {
			case stepName:
				if o, ok := v.(*jsonObject); ok {
					if x, ok := o.get(st.name); ok {
						next = append(next, x)
					}
				}
			case stepIndex:
				if a, ok := v.([]any); ok {
					i := st.index
					if i < 0 {
						i += len(a)
					}
					if i >= 0 && i < len(a) {
						next = append(next, a[i])
					}
				}
			case stepAll:
				switch x := v.(type) {
				case []any:
					next = append(next, x...)
				case *jsonObject:
					next = append(next, x.values...)
				}
			}
		}
		cur = next
		if len(cur) == 0 {
			return nil
		}
	}
	return cur
}

// jsonObject keeps an object's keys in document order, so [*] is stable.
type jsonObject struct {
	keys   []string
	values []any
}

func (o *jsonObject) get(k string) (any, bool) {
	for i, key := range o.keys {
		if key == k {
			return o.values[i], true
		}
	}
	return nil, false
}

// maxJSONDepth bounds nesting so a hostile body cannot exhaust the stack.
const maxJSONDepth = 64

// decodeJSON decodes one JSON document into nil, bool, json.Number, string,
// []any and *jsonObject values.
func decodeJSON(b []byte) (any, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	v, err := decodeValue(d, 0)
	if err != nil {
		return nil, err
	}
	if _, err := d.Token(); err == nil {
		return nil, fmt.Errorf("more than one JSON value")
	}
	return v, nil
}

func decodeValue(d *json.Decoder, depth int) (any, error) {
	if depth > maxJSONDepth {
		return nil, fmt.Errorf("JSON nested deeper than %d", maxJSONDepth)
	}
	tok, err := d.Token()
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '[':
			a := []any{}
			for d.More() {
				v, err := decodeValue(d, depth+1)
				if err != nil {
					return nil, err
				}
				a = append(a, v)
			}
			if _, err := d.Token(); err != nil {
				return nil, err
			}
			return a, nil
		case '{':
			o := &jsonObject{}
			for d.More() {
				kt, err := d.Token()
				if err != nil {
					return nil, err
				}
				k, _ := kt.(string)
				v, err := decodeValue(d, depth+1)
				if err != nil {
					return nil, err
				}
				o.keys = append(o.keys, k)
				o.values = append(o.values, v)
			}
			if _, err := d.Token(); err != nil {
				return nil, err
			}
			return o, nil
		}
		return nil, fmt.Errorf("unexpected %v", t)
	default:
		return t, nil
	}
}

// jsonText renders a selected value for comparison and reasons: strings as
// they are, numbers as written, true/false/null, and compact JSON for arrays
// and objects.
func jsonText(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case string:
		return x
	case json.Number:
		return x.String()
	case bool:
		return strconv.FormatBool(x)
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = jsonQuoted(e)
		}
		return "[" + strings.Join(parts, ",") + "]"
	case *jsonObject:
		parts := make([]string, len(x.keys))
		for i, k := range x.keys {
			kb, _ := json.Marshal(k)
			parts[i] = string(kb) + ":" + jsonQuoted(x.values[i])
		}
		return "{" + strings.Join(parts, ",") + "}"
	}
	return fmt.Sprint(v)
}

func jsonQuoted(v any) string {
	if s, ok := v.(string); ok {
		b, _ := json.Marshal(s)
		return string(b)
	}
	return jsonText(v)
}
