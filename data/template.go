package data

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"text/template"
	"time"
)

// MessageTemplate is a ready-made message for a situation (a partial
// outage, a fix being monitored, maintenance starting…): a title and a
// Markdown body with the fields customers need (what's happening, impact,
// workaround, current status, next update, timeline) and variables filled
// in when a draft is made from it. Title and Body are text/template
// sources run with missingkey=error, so a variable the template needs but
// nobody supplied is an error, never an empty gap in a message.
//
// A template reads a variable as {{.eta}} when it needs it, and as
// {{with index . "eta"}}…{{end}} when the sentence is optional.
type MessageTemplate struct {
	ID     string
	Name   string
	Kind   Kind
	Status IncidentStatus // the status of a message made from it
	// ComponentStatus is the status the affected components are given by
	// default ("" leaves them as they are).
	ComponentStatus ComponentStatus
	Severity        Severity // default severity of a new incident; "" none
	Title           string   // text/template; "" keeps the incident's title
	Body            string   // text/template producing Markdown
	Origin          string   // "built-in", "config" or "admin"
	CreatedBy       string
	CreatedAt       time.Time
	UpdatedAt       time.Time
}

// TemplateVariables are the variables a template may use, with what each
// holds. Those marked "always" are always set; the others only when given.
var TemplateVariables = []TemplateVariable{
	{"title", "the incident's title", true},
	{"status", "the status the message announces, in words (Investigating, Identified…)", true},
	{"components", "the affected components, in words (Card payments and Search API)", true},
	{"journeys", "the affected customer journeys, in words (Checkout and Search)", true},
	{"start", "when it started (or the window starts), with the time zone", true},
	{"end", "when a maintenance window ends", false},
	{"next_update", "when the next update will be posted", false},
	{"eta", "when a fix or the end is expected", false},
	{"impact", "what customers notice", false},
	{"workaround", "what customers can do meanwhile", false},
	{"details", "more on what is happening or what was done", false},
	{"cause", "the cause, once known", false},
	{"timeline", "the updates so far, one line each", false},
}

// TemplateVariable is one variable a template may use.
type TemplateVariable struct {
	Name   string
	Help   string
	Always bool
}

// IsTemplateVariable reports whether name is a variable templates may use.
func IsTemplateVariable(name string) bool {
	for _, v := range TemplateVariables {
		if v.Name == name {
			return true
		}
	}
	return false
}

func variableNames() string {
	names := make([]string, len(TemplateVariables))
	for i, v := range TemplateVariables {
		names[i] = v.Name
	}
	return strings.Join(names, ", ")
}

var (
	missingKey   = regexp.MustCompile(`map has no entry for key "([^"]*)"`)
	templateLine = regexp.MustCompile(`^template: \w+:(\d+):`)
)

// parseMessage parses one part of a template.
func parseMessage(field, src string) (*template.Template, error) {
	t, err := template.New(field).Option("missingkey=error").Parse(src)
	if err != nil {
		return nil, Invalid(field, "is not a valid template: %s", templateProblem(err))
	}
	return t, nil
}

// templateProblem is a text/template error without Go's prefixes.
func templateProblem(err error) string {
	s := err.Error()
	s = strings.TrimPrefix(s, "template: ")
	return s
}

// Validate checks a template: its id, kind, status and defaults, and that
// both parts parse and use only variables that exist (each part is run once
// with every variable set, so an unknown one fails here, not in the middle
// of an incident).
func (t *MessageTemplate) Validate() error {
	if err := ValidateID("id", t.ID); err != nil {
		return err
	}
	if err := ValidateText("name", t.Name, 200, true, false); err != nil {
		return err
	}
	if t.Kind == "" {
		t.Kind = KindIncident
	}
	if t.Kind != KindIncident && t.Kind != KindMaintenance {
		return Invalid("kind", "%q is not incident or maintenance", t.Kind)
	}
	if _, err := ParseIncidentStatus(string(t.Status), t.Kind); err != nil {
		return err
	}
	if t.ComponentStatus != "" && !t.ComponentStatus.Valid() {
		return Invalid("component_status", "%q is not a component status", t.ComponentStatus)
	}
	if t.Severity != "" && !t.Severity.Valid() {
		return Invalid("severity", "%q is not one of SEV1, SEV2, SEV3", t.Severity)
	}
	if err := ValidateText("title", t.Title, 1000, false, false); err != nil {
		return err
	}
	if err := ValidateText("body", t.Body, MaxBodyLength, true, true); err != nil {
		return err
	}
	full := map[string]string{}
	for _, v := range TemplateVariables {
		full[v.Name] = "x"
	}
	for _, part := range []struct{ field, src string }{{"title", t.Title}, {"body", t.Body}} {
		tm, err := parseMessage(part.field, part.src)
		if err != nil {
			return err
		}
		if err := tm.Execute(new(bytes.Buffer), full); err != nil {
			if m := missingKey.FindStringSubmatch(err.Error()); m != nil {
				where := ""
				if l := templateLine.FindStringSubmatch(err.Error()); l != nil {
					where = "line " + l[1] + " "
				}
				return Invalid(part.field, "%suses {{.%s}}, which is not a variable; the variables are %s", where, m[1], variableNames())
			}
			return Invalid(part.field, "cannot be run: %s", templateProblem(err))
		}
	}
	return nil
}

// MissingVariableError is returned by Render when the template needs a
// variable that was not given.
type MissingVariableError struct {
	Template string
	Variable string
}

func (e *MissingVariableError) Error() string {
	return fmt.Sprintf("template %q needs %s", e.Template, e.Variable)
}

// Render runs the template with vars and returns the title (empty if the
// template has none) and the Markdown body. A variable the template needs
// but vars lacks is an *InvalidError whose Field is the variable's name
// (wrapping a *MissingVariableError), so a form can point at the field to
// fill in.
func (t MessageTemplate) Render(vars map[string]string) (title, body string, err error) {
	run := func(field, src string) (string, error) {
		if src == "" {
			return "", nil
		}
		tm, err := parseMessage(field, src)
		if err != nil {
			return "", err
		}
		var b bytes.Buffer
		if err := tm.Execute(&b, vars); err != nil {
			if m := missingKey.FindStringSubmatch(err.Error()); m != nil {
				return "", &missingVar{InvalidError{Field: m[1],
					Reason: fmt.Sprintf("is needed by the template %q: fill it in, or write the message yourself", t.Name)},
					MissingVariableError{Template: t.ID, Variable: m[1]}}
			}
			return "", Invalid(field, "the template %q could not be run: %s", t.Name, templateProblem(err))
		}
		return strings.TrimSpace(b.String()), nil
	}
	if title, err = run("title", t.Title); err != nil {
		return "", "", err
	}
	if body, err = run("body", t.Body); err != nil {
		return "", "", err
	}
	if strings.TrimSpace(body) == "" {
		return "", "", Invalid("body", "the template %q made an empty message", t.Name)
	}
	return title, body, nil
}

// missingVar is both an *InvalidError (for the edge's error mapping) and a
// *MissingVariableError (for callers that branch on it).
type missingVar struct {
	inv InvalidError
	mv  MissingVariableError
}

func (e *missingVar) Error() string { return e.inv.Error() }

// As lets errors.As find either type.
func (e *missingVar) As(target any) bool {
	switch t := target.(type) {
	case **InvalidError:
		*t = &e.inv
		return true
	case **MissingVariableError:
		*t = &e.mv
		return true
	}
	return false
}

var _ interface{ As(any) bool } = (*missingVar)(nil)

// ParseMessageTemplateFile reads a built-in template file: "key: value"
// lines (name, kind, status, component_status, severity, title), a line
// "---", then the body.
func ParseMessageTemplateFile(id string, src []byte) (MessageTemplate, error) {
	t := MessageTemplate{ID: id, Origin: "built-in"}
	head, body, ok := strings.Cut(strings.ReplaceAll(string(src), "\r\n", "\n"), "\n---\n")
	if !ok {
		return t, Invalid("file", "%s: no line --- between the header and the body", id)
	}
	t.Body = strings.TrimSpace(body) + "\n"
	for n, line := range strings.Split(head, "\n") {
		if strings.TrimSpace(line) == "" || strings.HasPrefix(strings.TrimSpace(line), "#") {
			continue
		}
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			return t, Invalid("file", "%s:%d: want key: value", id, n+1)
		}
		v = strings.TrimSpace(v)
		switch strings.TrimSpace(k) {
		case "name":
			t.Name = v
		case "kind":
			t.Kind = Kind(v)
		case "status":
			t.Status = IncidentStatus(v)
		case "component_status":
			t.ComponentStatus = ComponentStatus(v)
		case "severity":
			t.Severity = Severity(v)
		case "title":
			t.Title = v
		default:
			return t, Invalid("file", "%s:%d: unknown key %q", id, n+1, strings.TrimSpace(k))
		}
	}
	if err := t.Validate(); err != nil {
		var inv *InvalidError
		if errors.As(err, &inv) {
			return t, Invalid("file", "%s: %s %s", id, inv.Field, inv.Reason)
		}
		return t, err
	}
	return t, nil
}

// SortTemplates orders templates as a menu shows them: incidents before
// maintenance, then by the order of their status in a lifecycle, then by
// name.
func SortTemplates(ts []MessageTemplate) {
	order := map[IncidentStatus]int{Investigating: 0, Identified: 1, Monitoring: 2, Resolved: 3, Postmortem: 4,
		Scheduled: 5, InProgress: 6, Verifying: 7, Completed: 8}
	sort.SliceStable(ts, func(i, j int) bool {
		a, b := ts[i], ts[j]
		if a.Kind != b.Kind {
			return a.Kind == KindIncident
		}
		if order[a.Status] != order[b.Status] {
			return order[a.Status] < order[b.Status]
		}
		return a.Name < b.Name
	})
}
