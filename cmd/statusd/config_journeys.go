package main

import "fmt"

// JourneyConfig is one customer journey and its components in file order.
type JourneyConfig struct {
	ID          string
	Name        string
	Description string
	Components  []ComponentConfig
	// AutoPublish publishes the drafts detection proposes for the journey
	// without waiting for a person.
	AutoPublish bool
}

// ComponentConfig is one component or, when Components is not empty, a group
// of components (one level deep).
type ComponentConfig struct {
	ID                 string
	Name               string
	Description        string
	Showcase           bool
	OnlyShowIfDegraded bool
	Components         []ComponentConfig
}

// IsGroup reports whether c groups other components.
func (c ComponentConfig) IsGroup() bool { return len(c.Components) > 0 }

type rawJourney struct {
	ID          *string        `yaml:"id"`
	Name        *string        `yaml:"name"`
	Description *string        `yaml:"description"`
	Components  []rawComponent `yaml:"components"`
	AutoPublish *bool          `yaml:"auto_publish"`
}

type rawComponent struct {
	ID                 *string        `yaml:"id"`
	Name               *string        `yaml:"name"`
	Description        *string        `yaml:"description"`
	Showcase           *bool          `yaml:"showcase"`
	OnlyShowIfDegraded *bool          `yaml:"only_show_if_degraded"`
	Components         []rawComponent `yaml:"components"`
}

// componentCount counts groups and the components in them.
func (c *Config) componentCount() int {
	n := 0
	for _, j := range c.Journeys {
		for _, cc := range j.Components {
			n += 1 + len(cc.Components)
		}
	}
	return n
}

// componentKind tells probes what a component id refers to.
type componentKind int

const (
	plainComponent componentKind = iota + 1
	groupComponent
)

// componentKinds returns the kind of every valid component id. An id that
// was refused (invalid or repeated) is left empty by journeys, so it is not
// here.
func (c *Config) componentKinds() map[string]componentKind {
	kinds := map[string]componentKind{}
	for _, j := range c.Journeys {
		for _, cc := range j.Components {
			if cc.ID != "" {
				kinds[cc.ID] = plainComponent
				if cc.IsGroup() {
					kinds[cc.ID] = groupComponent
				}
			}
			for _, ch := range cc.Components {
				if ch.ID != "" {
					kinds[ch.ID] = plainComponent
				}
			}
		}
	}
	return kinds
}

// journeys checks journeys and components.
func (c *checker) journeys(file *rawConfig, cfg *Config) {
	raw := file.Journeys
	if len(raw) == 0 {
		if c.has("journeys") {
			c.add("journeys", "must list at least one journey")
		} else {
			c.missing("", "journeys")
		}
		return
	}
	journeyAt := map[string]int{}
	componentAt := map[string]int{}
	var component func(rc rawComponent, path, group string) ComponentConfig
	component = func(rc rawComponent, path, group string) ComponentConfig {
		cc := ComponentConfig{Showcase: true}
		if id, ok := c.id(path, rc.ID, componentAt); ok {
			cc.ID = id
		}
		cc.Name = c.text(path, "name", rc.Name, 200, true)
		cc.Description = c.text(path, "description", rc.Description, 2000, false)
		if rc.Showcase != nil {
			cc.Showcase = *rc.Showcase
		}
		if rc.OnlyShowIfDegraded != nil {
			cc.OnlyShowIfDegraded = *rc.OnlyShowIfDegraded
		}
		if !c.has(path + ".components") {
			return cc
		}
		if group != "" {
			c.add(path+".components", "%s is inside group %q and cannot have components of its own; groups are one level deep", quoteOr(cc.ID, "this component"), group)
			return cc
		}
		if len(rc.Components) == 0 {
			c.add(path+".components", "a group needs at least one component")
			return cc
		}
		for i, ch := range rc.Components {
			cc.Components = append(cc.Components, component(ch, fmt.Sprintf("%s.components[%d]", path, i), or(cc.ID, "?")))
		}
		return cc
	}
	for i, rj := range raw {
		path := fmt.Sprintf("journeys[%d]", i)
		var j JourneyConfig
		j.ID, _ = c.id(path, rj.ID, journeyAt)
		j.Name = c.text(path, "name", rj.Name, 200, true)
		j.Description = c.text(path, "description", rj.Description, 2000, false)
		j.AutoPublish = rj.AutoPublish != nil && *rj.AutoPublish
		if len(rj.Components) == 0 {
			if c.has(path + ".components") {
				c.add(path+".components", "must list at least one component")
			} else {
				c.missing(path, "components")
			}
		}
		for k, rc := range rj.Components {
			j.Components = append(j.Components, component(rc, fmt.Sprintf("%s.components[%d]", path, k), ""))
		}
		cfg.Journeys = append(cfg.Journeys, j)
	}
}
