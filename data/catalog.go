package data

import (
	"regexp"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Journey is a customer journey (Sign in, Search, Checkout…): the unit people
// think in, made of the components that serve it.
type Journey struct {
	ID          string
	Name        string
	Description string
	Position    int
	CreatedAt   time.Time
	UpdatedAt   time.Time
	ArchivedAt  time.Time // zero while the journey is in the configuration
}

// Component is one thing whose status is shown. A group is a component whose
// status is the worst of its children; children name it in GroupID.
type Component struct {
	ID                 string
	JourneyID          string
	GroupID            string // "" for a top-level component
	IsGroup            bool
	Name               string
	Description        string
	Position           int
	Showcase           bool // show the uptime bar
	OnlyShowIfDegraded bool
	Status             ComponentStatus
	// StatusSource and StatusReason say why the component has its status:
	// the input that decided it ("" when none: operational by default) and
	// that input's reason. StatusChangedAt is when the status last changed.
	StatusSource    InputSource
	StatusReason    string
	StatusChangedAt time.Time
	CreatedAt       time.Time
	UpdatedAt       time.Time
	ArchivedAt      time.Time // zero while the component is in the configuration
}

// Catalog is the configured shape of the page: journeys and their components,
// in display order. Store.SyncCatalog makes the store match it.
type Catalog struct {
	Journeys []CatalogJourney
}

// CatalogJourney is one configured journey and its components in order; a
// group's children follow in its Children.
type CatalogJourney struct {
	ID          string
	Name        string
	Description string
	Components  []CatalogComponent
}

// CatalogComponent is one configured component or, when Children is not
// empty, a group.
type CatalogComponent struct {
	ID                 string
	Name               string
	Description        string
	Showcase           bool
	OnlyShowIfDegraded bool
	Children           []CatalogComponent
}

var idPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}$`)

// ValidateID checks an identifier chosen by an operator: 1–64 characters of
// lower-case letters, digits, '-' and '_', starting with a letter or digit.
func ValidateID(field, id string) error {
	if !idPattern.MatchString(id) {
		return Invalid(field, "%q must be 1-64 lower-case letters, digits, '-' or '_', starting with a letter or digit", id)
	}
	return nil
}

// ValidateText checks a human-readable text: valid UTF-8, at most max runes,
// no control characters except newlines and tabs when multiline is set, and
// not blank when required.
func ValidateText(field, s string, max int, required, multiline bool) error {
	if !utf8.ValidString(s) {
		return Invalid(field, "must be valid UTF-8")
	}
	if required && strings.TrimSpace(s) == "" {
		return Invalid(field, "must not be empty")
	}
	if n := utf8.RuneCountInString(s); n > max {
		return Invalid(field, "is %d characters long; the limit is %d", n, max)
	}
	for _, r := range s {
		if unicode.IsControl(r) && !(multiline && (r == '\n' || r == '\t' || r == '\r')) {
			return Invalid(field, "must not contain control characters")
		}
	}
	return nil
}

// Validate checks the catalog: valid ids unique across journeys and
// components, names present, groups one level deep and not empty.
func (c Catalog) Validate() error {
	seenJ := map[string]bool{}
	seenC := map[string]bool{}
	for _, j := range c.Journeys {
		if err := ValidateID("journey id", j.ID); err != nil {
			return err
		}
		if seenJ[j.ID] {
			return Invalid("journey id", "%q is used twice", j.ID)
		}
		seenJ[j.ID] = true
		if err := ValidateText("journey name", j.Name, 200, true, false); err != nil {
			return err
		}
		if err := ValidateText("journey description", j.Description, 2000, false, true); err != nil {
			return err
		}
		var check func(cc CatalogComponent, depth int) error
		check = func(cc CatalogComponent, depth int) error {
			if err := ValidateID("component id", cc.ID); err != nil {
				return err
			}
			if seenC[cc.ID] {
				return Invalid("component id", "%q is used twice", cc.ID)
			}
			seenC[cc.ID] = true
			if err := ValidateText("component name", cc.Name, 200, true, false); err != nil {
				return err
			}
			if err := ValidateText("component description", cc.Description, 2000, false, true); err != nil {
				return err
			}
			if depth > 0 && len(cc.Children) > 0 {
				return Invalid("components", "group %q is inside another group; groups are one level deep", cc.ID)
			}
			for _, ch := range cc.Children {
				if err := check(ch, depth+1); err != nil {
					return err
				}
			}
			return nil
		}
		for _, cc := range j.Components {
			if err := check(cc, 0); err != nil {
				return err
			}
		}
	}
	return nil
}
