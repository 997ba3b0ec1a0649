package main

import (
	"fmt"
	"time"
)

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

type rawProbe struct {
	ID        *string `yaml:"id"`
	Component *string `yaml:"component"`
	Type      *string `yaml:"type"`
	Target    *string `yaml:"target"`
	Interval  *string `yaml:"interval"`
	Timeout   *string `yaml:"timeout"`
}

// probes checks the probes against the components checked by journeys.
func (c *checker) probes(file *rawConfig, cfg *Config) {
	raw := file.Probes
	kinds := cfg.componentKinds()
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
