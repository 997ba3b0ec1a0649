package probes

import (
	"fmt"
	"strings"
)

// A Template is a string with ${name} placeholders, filled in per run from
// the variables earlier journey steps captured, and ${env:NAME} placeholders,
// filled in once when the probe is built from the environment variable NAME.
// Values from the environment are secrets: they are sent to the target but
// removed from every reason a probe reports. $$ is a literal $.
type Template struct {
	parts []tmplPart
}

type tmplKind uint8

const (
	tmplLit tmplKind = iota
	tmplVar
	tmplEnv
)

type tmplPart struct {
	kind tmplKind
	text string // the literal, or the variable or environment name
}

// ParseTemplate parses s. It fails on an unclosed or empty placeholder or a
// name that is not letters, digits, '_', '-' or '.'.
func ParseTemplate(s string) (Template, error) {
	var t Template
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			t.parts = append(t.parts, tmplPart{kind: tmplLit, text: lit.String()})
			lit.Reset()
		}
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '$' || i+1 >= len(s) {
			lit.WriteByte(c)
			continue
		}
		switch s[i+1] {
		case '$':
			lit.WriteByte('$')
			i++
			continue
		case '{':
		default:
			lit.WriteByte(c)
			continue
		}
		end := strings.IndexByte(s[i+2:], '}')
		if end < 0 {
			return Template{}, fmt.Errorf("unclosed ${ at byte %d", i)
		}
		name := s[i+2 : i+2+end]
		kind := tmplVar
		if rest, ok := strings.CutPrefix(name, "env:"); ok {
			kind, name = tmplEnv, rest
		}
		if !validName(name) {
			return Template{}, fmt.Errorf("%q is not a variable name (letters, digits, '_', '-', '.')", name)
		}
		flush()
		t.parts = append(t.parts, tmplPart{kind: kind, text: name})
		i += 2 + end
	}
	flush()
	return t, nil
}

func validName(n string) bool {
	if n == "" || len(n) > 128 {
		return false
	}
	for _, r := range n {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '_', r == '-', r == '.':
		default:
			return false
		}
	}
	return true
}

// Vars lists the ${name} variables t uses, in order.
func (t Template) Vars() []string { return t.names(tmplVar) }

// Env lists the ${env:NAME} variables t uses, in order.
func (t Template) Env() []string { return t.names(tmplEnv) }

func (t Template) names(k tmplKind) []string {
	var out []string
	for _, p := range t.parts {
		if p.kind == k {
			out = append(out, p.text)
		}
	}
	return out
}

// IsZero reports whether t is empty.
func (t Template) IsZero() bool { return len(t.parts) == 0 }

// bindEnv returns t with its environment placeholders replaced by their
// values (looked up with getenv) and the secret values it used. It fails if a
// variable is unset or empty.
func (t Template) bindEnv(getenv func(string) string) (Template, []string, error) {
	out := Template{parts: make([]tmplPart, 0, len(t.parts))}
	var secrets []string
	for _, p := range t.parts {
		if p.kind != tmplEnv {
			out.parts = append(out.parts, p)
			continue
		}
		v := getenv(p.text)
		if v == "" {
			return Template{}, nil, fmt.Errorf("environment variable %s is not set", p.text)
		}
		secrets = append(secrets, v)
		out.parts = append(out.parts, tmplPart{kind: tmplLit, text: v})
	}
	return out, secrets, nil
}

// expand fills the variables from vars; a missing one expands to "" (the
// probe is checked before it runs, so that only happens when a capture
// failed, which fails the step first).
func (t Template) expand(vars map[string]string) string {
	if len(t.parts) == 1 && t.parts[0].kind == tmplLit {
		return t.parts[0].text
	}
	var b strings.Builder
	for _, p := range t.parts {
		switch p.kind {
		case tmplLit:
			b.WriteString(p.text)
		case tmplVar:
			b.WriteString(vars[p.text])
		}
	}
	return b.String()
}
