package main

import (
	"errors"
	"fmt"
	"regexp"
	"time"
	_ "time/tzdata" // page.time_zone must validate the same on hosts without /usr/share/zoneinfo

	"github.com/statusd/statusd/data"
	"github.com/statusd/statusd/server"
)

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

var (
	languagePattern = regexp.MustCompile(`^[a-zA-Z]{2,3}(-[a-zA-Z0-9]{2,8})*$`)
)

func (c *checker) page(file *rawConfig, cfg *Config) {
	raw, p := file.Page, &cfg.Page
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
		p.ID = data.DeriveID(p.Name)
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
		if col, err := server.CheckAccentColor(*b.AccentColor); err != nil {
			c.invalid("page.branding.accent_color", err)
		} else {
			p.Branding.AccentColor = col
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
