package data

import (
	"sort"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// InputSource names who claims a component's status. A component's status is
// never simply overwritten: each source writes its own input and Resolve
// decides between them.
type InputSource string

// The input sources, strongest first.
const (
	// SourceOverride is a person's explicit status (set-status, the admin);
	// it wins until cleared.
	SourceOverride InputSource = "override"
	// SourceIncident is the status an open incident declares for the
	// component, from publish until resolve. Key is the incident id.
	SourceIncident InputSource = "incident"
	// SourceMaintenance is under_maintenance while a window is in progress.
	// Key is the maintenance id.
	SourceMaintenance InputSource = "maintenance"
	// SourceAutomatic is what detection says: the probe engine (Key
	// "probes"), an SLO's burn rate (Key "slo:<id>"). The worst one counts.
	SourceAutomatic InputSource = "automatic"
)

// InputSources lists the sources from strongest to weakest.
var InputSources = []InputSource{SourceOverride, SourceIncident, SourceMaintenance, SourceAutomatic}

// Valid reports whether s is one of the defined sources.
func (s InputSource) Valid() bool { return s.rank() >= 0 }

// rank orders sources by precedence: 0 wins over 1, and so on; -1 is unknown.
func (s InputSource) rank() int {
	for i, v := range InputSources {
		if v == s {
			return i
		}
	}
	return -1
}

// Label is the source in words for people.
func (s InputSource) Label() string {
	switch s {
	case SourceOverride:
		return "Set by the team"
	case SourceIncident:
		return "Incident"
	case SourceMaintenance:
		return "Maintenance"
	case SourceAutomatic:
		return "Automatic detection"
	}
	return "No reported problem"
}

// Input is one source's claim about one component's status, with its reason.
type Input struct {
	ComponentID string
	Source      InputSource
	Key         string // which writer within the source; "" for an override
	Status      ComponentStatus
	Reason      string // why, in words for the page: `probe checkout-pay: step 3 "pay" returned 502 from 2 of 3 regions`
	Actor       string // who or what wrote it: a user, "probes", "statusd"
	At          time.Time
}

// Validate checks an input before it is stored.
func (in Input) Validate() error {
	if err := ValidateID("component", in.ComponentID); err != nil {
		return err
	}
	if !in.Source.Valid() {
		return Invalid("source", "%q is not one of override, incident, maintenance, automatic", in.Source)
	}
	switch {
	case in.Source == SourceOverride && in.Key != "":
		return Invalid("key", "an override has no key")
	case in.Source != SourceOverride && in.Key == "":
		return Invalid("key", "a %s input needs a key naming its writer", in.Source)
	}
	if err := ValidateText("key", in.Key, 200, false, false); err != nil {
		return err
	}
	if !in.Status.Valid() {
		return Invalid("status", "%q is not a component status", in.Status)
	}
	if err := ValidateText("actor", in.Actor, 200, true, false); err != nil {
		return err
	}
	return ValidateText("reason", in.Reason, 2000, false, false)
}

// Resolve decides a component's status from its inputs: an override wins over
// an incident, an incident over a maintenance, a maintenance over automatic
// detection, and automatic detection over the default, operational. Within
// one source the worst status wins (then the newest, then the lowest key, so
// the answer does not depend on the order of ins). It returns the status and
// the input that decided it, which is the zero Input when there is none.
func Resolve(ins []Input) (ComponentStatus, Input) {
	var best Input
	found := false
	for _, in := range ins {
		if !in.Source.Valid() || !in.Status.Valid() {
			continue
		}
		if !found || beats(in, best) {
			best, found = in, true
		}
	}
	if !found {
		return Operational, Input{}
	}
	return best.Status, best
}

// beats reports whether a decides over b.
func beats(a, b Input) bool {
	if ra, rb := a.Source.rank(), b.Source.rank(); ra != rb {
		return ra < rb
	}
	if sa, sb := a.Status.Severity(), b.Status.Severity(); sa != sb {
		return sa > sb
	}
	if !a.At.Equal(b.At) {
		return a.At.After(b.At)
	}
	return a.Key < b.Key
}

// sortInputs orders inputs by precedence, the deciding one first.
func sortInputs(ins []Input) {
	sort.SliceStable(ins, func(i, j int) bool { return beats(ins[i], ins[j]) })
}

// CleanReason makes outside text (a probe's error, a response snippet) fit
// for a reason: control characters become spaces and it is cut to 2,000
// characters.
func CleanReason(s string) string {
	var b strings.Builder
	n := 0
	for _, r := range s {
		if n == 2000 {
			break
		}
		if r == utf8.RuneError || unicode.IsControl(r) {
			r = ' '
		}
		b.WriteRune(r)
		n++
	}
	return b.String()
}
