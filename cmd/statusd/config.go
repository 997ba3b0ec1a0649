package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"

	"github.com/statusd/statusd/data"
)

// Config is a loaded and validated configuration file, defaults filled in.
// Build one with LoadConfig or ParseConfig; the zero value is not useful.
type Config struct {
	Page     PageConfig
	Server   ServerConfig
	Database DatabaseConfig
	Snapshot SnapshotConfig
	Cache    CacheConfig
	Journeys []JourneyConfig
	Probing  ProbingConfig
	Probes   []ProbeConfig
	SLOs     []SLOConfig
	// SLOPushToken may push events for every SLO with a push feed;
	// OpenSLOFiles are where SLOs written in OpenSLO came from.
	SLOPushToken string
	OpenSLOFiles []string
	Notifier     NotifierConfig
	Redis        *RedisConfig // nil unless the file has a redis section
	Admin        AdminConfig

	// getenv is the environment the file was checked with; probes read
	// their secrets from it when they are built.
	getenv func(string) string
	Embed  EmbedConfig // config_embed.go
	// IncidentTemplates are message templates from incident_templates.
	IncidentTemplates []data.MessageTemplate
	Maintenance       MaintenanceConfig
}

// maxConfigSize bounds what ParseConfig reads; a real file is a few KiB.
const maxConfigSize = 1 << 20

// Problem is one thing wrong in a configuration file. Line is 1-based, or 0
// when the problem is not about one line (the file cannot be read).
type Problem struct {
	File   string
	Line   int
	Reason string
}

func (p Problem) String() string {
	if p.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", p.File, p.Line, p.Reason)
	}
	return fmt.Sprintf("%s: %s", p.File, p.Reason)
}

// ConfigError lists every problem found in a configuration file, in line order.
type ConfigError struct {
	Problems []Problem
	err      error // the cause when the file could not be read
}

func (e *ConfigError) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// Unwrap returns the I/O error when the file could not be read, so that
// errors.Is(err, fs.ErrNotExist) works.
func (e *ConfigError) Unwrap() error { return e.err }

// LoadConfig reads and parses the configuration file at path; see ParseConfig.
// Every error, including a file that cannot be read, is a *ConfigError.
func LoadConfig(path string, getenv func(string) string) (*Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, readError(path, err)
	}
	defer f.Close() //nolint:errcheck // read only; nothing to flush
	// One byte past the limit lets ParseConfig say that the file is too big.
	src, err := io.ReadAll(io.LimitReader(f, maxConfigSize+1))
	if err != nil {
		return nil, readError(path, err)
	}
	return ParseConfig(path, src, getenv)
}

func readError(path string, err error) error {
	reason := err.Error()
	var pe *fs.PathError
	if errors.As(err, &pe) {
		reason = pe.Err.Error()
	}
	return &ConfigError{Problems: []Problem{{File: path, Reason: "cannot read the file: " + reason}}, err: err}
}

// ParseConfig parses and validates a configuration file named name (used in
// messages) with contents src. Secrets written as ${NAME} are read with getenv,
// and STATUSD_SMTP_PASSWORD and STATUSD_REDIS_PASSWORD, when set, replace the
// passwords of notifier.email and redis. A nil getenv is an empty environment.
//
// The error, if any, is a *ConfigError with one "file:line: reason" problem per
// mistake: unknown or repeated keys, values of the wrong type or out of range,
// repeated ids, references to unknown journeys or components.
func ParseConfig(name string, src []byte, getenv func(string) string) (*Config, error) {
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	c := newChecker(name, getenv)
	cfg := c.parse(src)
	if len(c.problems) > 0 {
		return nil, c.err()
	}
	cfg.getenv = getenv
	return cfg, nil
}

// Catalog returns the journeys and components in file order for
// data.Store.SyncCatalog.
func (c *Config) Catalog() data.Catalog {
	cat := data.Catalog{Journeys: make([]data.CatalogJourney, 0, len(c.Journeys))}
	for _, j := range c.Journeys {
		cj := data.CatalogJourney{ID: j.ID, Name: j.Name, Description: j.Description}
		for _, cc := range j.Components {
			cj.Components = append(cj.Components, catalogComponent(cc))
		}
		cat.Journeys = append(cat.Journeys, cj)
	}
	return cat
}

func catalogComponent(c ComponentConfig) data.CatalogComponent {
	cc := data.CatalogComponent{
		ID:                 c.ID,
		Name:               c.Name,
		Description:        c.Description,
		Showcase:           c.Showcase,
		OnlyShowIfDegraded: c.OnlyShowIfDegraded,
	}
	for _, ch := range c.Components {
		cc.Children = append(cc.Children, catalogComponent(ch))
	}
	return cc
}

// The raw types mirror the file. Pointers tell a missing key from a zero
// value; durations stay strings so that their errors name the field and line.
type rawConfig struct {
	Page     *rawPage     `yaml:"page"`
	Server   rawServer    `yaml:"server"`
	Database rawDatabase  `yaml:"database"`
	Snapshot rawSnapshot  `yaml:"snapshot"`
	Cache    rawCache     `yaml:"cache"`
	Journeys []rawJourney `yaml:"journeys"`
	Probing  rawProbing   `yaml:"probing"`
	Probes   []rawProbe   `yaml:"probes"`
	SLOs     []rawSLO     `yaml:"slos"`
	// config_slos.go
	SLOPushToken *string     `yaml:"slos_push_token"`
	OpenSLOFiles []string    `yaml:"openslo_files"`
	Notifier     rawNotifier `yaml:"notifier"`
	Redis        *rawRedis   `yaml:"redis"`
	Admin        rawAdmin    `yaml:"admin"`
	Embed        rawEmbed    `yaml:"embed"`

	IncidentTemplates []rawMessageTemplate `yaml:"incident_templates"`
	Maintenance       rawMaintenanceConfig `yaml:"maintenance"`
}

// sections checks the top-level sections, in this order: each takes its raw
// section and fills in its part of the Config, defaults included. A section
// that refers to another (probes to components, slos to journeys) comes
// after it. Adding a section is a file with its Config and raw types and its
// checker method, a field in Config and rawConfig, and a line here.
var sections = []func(c *checker, raw *rawConfig, cfg *Config){
	(*checker).page,
	(*checker).server,
	(*checker).database,
	(*checker).snapshot,
	(*checker).cache,
	(*checker).journeys,
	(*checker).probing,
	(*checker).probes,
	(*checker).slos,
	(*checker).notifier,
	(*checker).redis,
	(*checker).admin,
	func(c *checker, raw *rawConfig, cfg *Config) { c.embed(&raw.Embed, &cfg.Embed) }, // config_embed.go
	(*checker).incidentTemplates,
	(*checker).maintenance,
}

// validate checks the decoded file and builds the Config, filling in defaults.
func (c *checker) validate(raw *rawConfig) *Config {
	cfg := &Config{}
	for _, check := range sections {
		check(c, raw, cfg)
	}
	return cfg
}
