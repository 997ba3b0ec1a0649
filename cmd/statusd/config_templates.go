package main

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/statusd/statusd/data"
)

// incident_templates: message templates beside the built-in ones (a
// template with a built-in's id replaces it). Each is checked as the admin
// checks one made in the UI: it must parse, and use only variables that
// exist; a problem inside a body is reported at its own line.
//
//	incident_templates:
//	  - id: payments-degraded
//	    name: Card payments degraded
//	    status: investigating
//	    component_status: degraded_performance
//	    severity: SEV3
//	    title: "Card payments slow: {{.components}}"
//	    body: |
//	      **What's happening:** card payments are slow since {{.start}}.

type rawMessageTemplate struct {
	ID              *string `yaml:"id"`
	Name            *string `yaml:"name"`
	Kind            *string `yaml:"kind"`
	Status          *string `yaml:"status"`
	ComponentStatus *string `yaml:"component_status"`
	Severity        *string `yaml:"severity"`
	Title           *string `yaml:"title"`
	Body            *string `yaml:"body"`
}

func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

var lineInReason = regexp.MustCompile(`^line (\d+) `)

func (c *checker) incidentTemplates(file *rawConfig, cfg *Config) {
	seen := map[string]int{}
	for i, rt := range file.IncidentTemplates {
		path := fmt.Sprintf("incident_templates[%d]", i)
		t := data.MessageTemplate{ID: str(rt.ID), Name: str(rt.Name), Kind: data.Kind(str(rt.Kind)), Status: data.IncidentStatus(str(rt.Status)),
			ComponentStatus: data.ComponentStatus(str(rt.ComponentStatus)), Severity: data.Severity(str(rt.Severity)),
			Title: str(rt.Title), Body: str(rt.Body), Origin: "config"}
		if rt.ID == nil {
			c.missing(path, "id")
			continue
		}
		if first, ok := seen[t.ID]; ok {
			c.add(path+".id", "%q is used twice (first at line %d)", t.ID, first)
			continue
		}
		seen[t.ID] = c.line(path + ".id")
		err := t.Validate()
		var inv *data.InvalidError
		if errors.As(err, &inv) {
			field := path + "." + inv.Field
			if !c.has(field) {
				field = path
			}
			if m := lineInReason.FindStringSubmatch(inv.Reason); m != nil && strings.Contains(str(rt.Body)+str(rt.Title), "\n") {
				n, _ := strconv.Atoi(m[1])
				c.addAt(c.line(field)+n, "%s: %s", field, strings.TrimPrefix(inv.Reason, m[0]))
				continue
			}
			c.add(field, "%s", inv.Reason)
			continue
		}
		if err != nil {
			c.add(path, "%v", err)
			continue
		}
		cfg.IncidentTemplates = append(cfg.IncidentTemplates, t)
	}
}

// maintenance: how maintenance is announced.
//
//	maintenance:
//	  reminders: [24h, 1h]   # reminder events before a window starts
type rawMaintenanceConfig struct {
	Reminders []string `yaml:"reminders"`
}

// MaintenanceConfig is the maintenance section.
type MaintenanceConfig struct {
	// Reminders are how long before a window starts a reminder goes out.
	Reminders []time.Duration
}

func (c *checker) maintenance(file *rawConfig, cfg *Config) {
	raw := file.Maintenance
	if raw.Reminders == nil {
		cfg.Maintenance.Reminders = []time.Duration{24 * time.Hour, time.Hour}
		return
	}
	cfg.Maintenance.Reminders = []time.Duration{}
	for i, r := range raw.Reminders {
		r := r
		d := c.duration(fmt.Sprintf("maintenance.reminders[%d]", i), &r, durationRange{min: time.Minute, max: 30 * 24 * time.Hour, example: "24h, 1h"})
		if d > 0 {
			cfg.Maintenance.Reminders = append(cfg.Maintenance.Reminders, d)
		}
	}
}
