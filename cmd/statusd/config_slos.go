package main

import (
	"fmt"
	"strconv"
	"time"
)

// SLOConfig is a service level objective of a journey.
type SLOConfig struct {
	ID        string
	Journey   string
	Objective float64 // percent, 0 < Objective < 100
	Window    time.Duration
}

type rawSLO struct {
	ID        *string  `yaml:"id"`
	Journey   *string  `yaml:"journey"`
	Objective *float64 `yaml:"objective"`
	Window    *string  `yaml:"window"`
}

func (c *checker) slos(file *rawConfig, cfg *Config) {
	raw := file.SLOs
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
