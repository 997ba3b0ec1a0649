package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
)

// OpenSLO v1 (openslo.com): the documents of kind SLO, and of kind
// DataSource that they refer to, in the subset statusd computes: a ratio
// metric read from Prometheus, budgeted by occurrences, one objective, one
// time window. Decoding is strict: a key that is not OpenSLO's is an error
// with its file and line; OpenSLO features statusd does not compute are
// refused by name.

type rawOpenSLOMeta struct {
	Name        *string        `yaml:"name"`
	DisplayName *string        `yaml:"displayName"`
	Labels      map[string]any `yaml:"labels"`
	Annotations map[string]any `yaml:"annotations"`
}

// rawOpenSLOSpec holds the keys of both SLO and DataSource specs; walk
// checks each document against the one of its kind.
type rawOpenSLOSpec struct {
	Description     *string              `yaml:"description"`
	Service         *string              `yaml:"service"`
	Indicator       *rawOpenSLOIndicator `yaml:"indicator"`
	IndicatorRef    *string              `yaml:"indicatorRef"`
	TimeWindow      []rawOpenSLOWindow   `yaml:"timeWindow"`
	BudgetingMethod *string              `yaml:"budgetingMethod"`
	Objectives      []rawOpenSLOObj      `yaml:"objectives"`
	AlertPolicies   []any                `yaml:"alertPolicies"`
}

type rawOpenSLODataSourceSpec struct {
	Description       *string        `yaml:"description"`
	Type              *string        `yaml:"type"`
	ConnectionDetails map[string]any `yaml:"connectionDetails"`
}

type rawOpenSLODataSourceDoc struct {
	APIVersion *string                  `yaml:"apiVersion"`
	Kind       *string                  `yaml:"kind"`
	Metadata   rawOpenSLOMeta           `yaml:"metadata"`
	Spec       rawOpenSLODataSourceSpec `yaml:"spec"`
}

type rawOpenSLOSLODoc struct {
	APIVersion *string        `yaml:"apiVersion"`
	Kind       *string        `yaml:"kind"`
	Metadata   rawOpenSLOMeta `yaml:"metadata"`
	Spec       rawOpenSLOSpec `yaml:"spec"`
}

type rawOpenSLOIndicator struct {
	Metadata rawOpenSLOMeta    `yaml:"metadata"`
	Spec     rawOpenSLOSLISpec `yaml:"spec"`
}

type rawOpenSLOSLISpec struct {
	Description     *string         `yaml:"description"`
	RatioMetric     *rawOpenSLORato `yaml:"ratioMetric"`
	ThresholdMetric map[string]any  `yaml:"thresholdMetric"`
}

type rawOpenSLORato struct {
	Counter *bool             `yaml:"counter"`
	Good    *rawOpenSLOMetric `yaml:"good"`
	Bad     *rawOpenSLOMetric `yaml:"bad"`
	Total   *rawOpenSLOMetric `yaml:"total"`
	RawType *string           `yaml:"rawType"`
	Raw     map[string]any    `yaml:"raw"`
}

type rawOpenSLOMetric struct {
	MetricSource rawOpenSLOSource `yaml:"metricSource"`
}

type rawOpenSLOSource struct {
	MetricSourceRef *string        `yaml:"metricSourceRef"`
	Type            *string        `yaml:"type"`
	Spec            map[string]any `yaml:"spec"`
}

type rawOpenSLOWindow struct {
	Duration  *string        `yaml:"duration"`
	IsRolling *bool          `yaml:"isRolling"`
	Calendar  map[string]any `yaml:"calendar"`
}

type rawOpenSLOObj struct {
	DisplayName     *string  `yaml:"displayName"`
	Op              *string  `yaml:"op"`
	Value           *float64 `yaml:"value"`
	Target          *float64 `yaml:"target"`
	TargetPercent   *float64 `yaml:"targetPercent"`
	TimeSliceTarget *float64 `yaml:"timeSliceTarget"`
	TimeSliceWindow *string  `yaml:"timeSliceWindow"`
	CompositeWeight *float64 `yaml:"compositeWeight"`
}

// opensloDurationPattern is OpenSLO's duration shorthand: a number and one
// of m, h, d, w, M, Q, Y.
var opensloDurationPattern = regexp.MustCompile(`^([1-9][0-9]{0,4})([mhdwMQY])$`)

// opensloFiles reads the OpenSLO files listed in the configuration, relative
// to its directory, and adds their SLOs to cfg.
func (c *checker) opensloFiles(files []string, journeys map[string]map[string]bool, seen map[string]int, cfg *Config) {
	base := filepath.Dir(c.file)
	for i, name := range files {
		path := fmt.Sprintf("openslo_files[%d]", i)
		if name == "" {
			c.add(path, "must not be empty")
			continue
		}
		full := name
		if !filepath.IsAbs(full) {
			full = filepath.Join(base, name)
		}
		cfg.OpenSLOFiles = append(cfg.OpenSLOFiles, full)
		src, err := readLimited(full)
		if err != nil {
			c.add(path, "cannot read %s: %v", name, err)
			continue
		}
		c.openslo(full, src, journeys, seen, cfg)
	}
}

func readLimited(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		if pe, ok := err.(*os.PathError); ok {
			return nil, pe.Err
		}
		return nil, err
	}
	defer f.Close() //nolint:errcheck // read only
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("not a regular file")
	}
	src, err := io.ReadAll(io.LimitReader(f, maxConfigSize+1))
	if err == nil && len(src) > maxConfigSize {
		return nil, fmt.Errorf("larger than %d KiB", maxConfigSize>>10)
	}
	return src, err
}

// openslo parses one OpenSLO file of one or more documents.
func (c *checker) openslo(file string, src []byte, journeys map[string]map[string]bool, seen map[string]int, cfg *Config) {
	fc := newChecker(file, c.getenv)
	defer func() { c.problems = append(c.problems, fc.problems...) }()
	var f *ast.File
	err := noPanic(func() (err error) {
		f, err = parser.ParseBytes(src, 0, parser.AllowDuplicateMapKey())
		return err
	})
	if err != nil {
		fc.yamlError(err)
		return
	}
	sources := map[string]string{} // DataSource name → Prometheus URL
	type sloDoc struct {
		dc  *checker
		raw rawOpenSLOSLODoc
	}
	var slos []sloDoc
	for _, d := range f.Docs {
		if d == nil || d.Body == nil {
			continue
		}
		body := d.Body
		if m := unwrap(body); m == nil || (m.Type() != ast.MappingType && m.Type() != ast.MappingValueType) {
			fc.addAt(nodeLine(body), "an OpenSLO document is a mapping (apiVersion, kind, metadata, spec), not %s", describe(body))
			continue
		}
		var head struct {
			APIVersion string `yaml:"apiVersion"`
			Kind       string `yaml:"kind"`
		}
		_ = noPanic(func() error { return yaml.NodeToValue(body, &head) }) // checked strictly below
		dc := newChecker(file, c.getenv)
		line := nodeLine(body)
		if head.APIVersion != "openslo/v1" {
			fc.addAt(line, "apiVersion %q is not supported; statusd reads openslo/v1", head.APIVersion)
			continue
		}
		var t reflect.Type
		switch head.Kind {
		case "SLO":
			t = reflect.TypeFor[rawOpenSLOSLODoc]()
		case "DataSource":
			t = reflect.TypeFor[rawOpenSLODataSourceDoc]()
		case "SLI", "Service", "AlertPolicy", "AlertCondition", "AlertNotificationTarget":
			continue // OpenSLO kinds statusd has no use for: kept beside the SLOs, ignored
		default:
			fc.addAt(line, "unknown OpenSLO kind %q", head.Kind)
			continue
		}
		dc.walk(body, "", t)
		if len(dc.problems) == 0 {
			v := reflect.New(t)
			err := noPanic(func() error {
				return yaml.NodeToValue(body, v.Interface(), yaml.DisallowUnknownField(), yaml.AllowDuplicateMapKey())
			})
			if err != nil {
				dc.yamlError(err)
			} else if head.Kind == "DataSource" {
				ds := v.Interface().(*rawOpenSLODataSourceDoc)
				dc.opensloDataSource(ds, sources)
			} else {
				slos = append(slos, sloDoc{dc, *v.Interface().(*rawOpenSLOSLODoc)})
			}
		}
		fc.problems = append(fc.problems, dc.problems...)
	}
	for _, d := range slos {
		if s, ok := d.dc.opensloSLO(d.raw, sources, journeys, seen); ok {
			cfg.SLOs = append(cfg.SLOs, s)
		}
		fc.problems = append(fc.problems, d.dc.problems...)
		d.dc.problems = nil
	}
}

func (c *checker) opensloDataSource(ds *rawOpenSLODataSourceDoc, sources map[string]string) {
	if ds.Metadata.Name == nil || *ds.Metadata.Name == "" {
		c.missing("metadata", "name")
		return
	}
	if ds.Spec.Type == nil || !strings.EqualFold(*ds.Spec.Type, "prometheus") {
		c.add("spec.type", "statusd reads Prometheus data sources only")
		return
	}
	u, _ := ds.Spec.ConnectionDetails["url"].(string)
	if u == "" {
		c.add("spec.connectionDetails", "missing url of the Prometheus server")
		return
	}
	sources[*ds.Metadata.Name] = u
}

// opensloSLO turns an OpenSLO SLO into an SLOConfig: metadata.name is the
// id, spec.service the journey, the ratio metric's queries the Prometheus
// feed.
func (c *checker) opensloSLO(d rawOpenSLOSLODoc, sources map[string]string, journeys map[string]map[string]bool, seen map[string]int) (SLOConfig, bool) {
	n := len(c.problems)
	s := SLOConfig{SLI: "availability", StaleAfter: 10 * time.Minute, Feed: SLOFeedConfig{Type: FeedPrometheus, Timeout: 10 * time.Second, Poll: time.Minute}}
	s.ID, _ = c.id("metadata", d.Metadata.Name, seen)
	s.Name = c.text("metadata", "displayName", d.Metadata.DisplayName, 200, false)
	if s.Name == "" {
		s.Name = s.ID
	}
	sp := d.Spec
	if sp.Service == nil || *sp.Service == "" {
		c.missing("spec", "service")
	} else if _, ok := journeys[*sp.Service]; !ok {
		c.add("spec.service", "unknown journey %q (the service of an OpenSLO SLO names a statusd journey)", *sp.Service)
	} else {
		s.Journey = *sp.Service
	}
	if sp.BudgetingMethod != nil && *sp.BudgetingMethod != "Occurrences" {
		c.add("spec.budgetingMethod", "%q is not supported; statusd budgets by Occurrences", *sp.BudgetingMethod)
	}
	switch {
	case sp.IndicatorRef != nil:
		c.add("spec.indicatorRef", "write the indicator inline; a reference to an SLI document is not supported")
	case sp.Indicator == nil:
		c.missing("spec", "indicator")
	case sp.Indicator.Spec.ThresholdMetric != nil:
		c.add("spec.indicator.spec.thresholdMetric", "is not supported; use a ratioMetric of good (or bad) and total events")
	case sp.Indicator.Spec.RatioMetric == nil:
		c.missing("spec.indicator.spec", "ratioMetric")
	default:
		c.opensloRatio("spec.indicator.spec.ratioMetric", sp.Indicator.Spec.RatioMetric, sources, &s.Feed)
	}
	if len(sp.TimeWindow) != 1 {
		c.add("spec.timeWindow", "needs exactly one window, has %d", len(sp.TimeWindow))
	} else {
		c.opensloWindow("spec.timeWindow[0]", sp.TimeWindow[0], &s)
	}
	if len(sp.Objectives) != 1 {
		c.add("spec.objectives", "needs exactly one objective, has %d", len(sp.Objectives))
	} else {
		o := sp.Objectives[0]
		set := false
		switch {
		case o.TimeSliceTarget != nil || o.TimeSliceWindow != nil:
			c.add("spec.objectives[0]", "time slices are not supported; statusd budgets by occurrences")
		case o.Target != nil && o.TargetPercent != nil:
			c.add("spec.objectives[0]", "give target or targetPercent, not both")
		case o.Target != nil:
			s.Objective, set = *o.Target*100, true
		case o.TargetPercent != nil:
			s.Objective, set = *o.TargetPercent, true
		default:
			c.missing("spec.objectives[0]", "target")
		}
		if set && !(s.Objective > 0 && s.Objective < 100) {
			c.add("spec.objectives[0]", "the target must be between 0 and 1 (targetPercent between 0 and 100), such as 0.999")
		}
	}
	return s, len(c.problems) == n
}

func (c *checker) opensloRatio(path string, r *rawOpenSLORato, sources map[string]string, f *SLOFeedConfig) {
	if r.RawType != nil || r.Raw != nil {
		c.add(path, "a raw ratio is not supported; give good (or bad) and total")
		return
	}
	query := func(p string, m *rawOpenSLOMetric) (string, string) {
		if m == nil {
			return "", ""
		}
		ms := m.MetricSource
		if ms.Type != nil && !strings.EqualFold(*ms.Type, "prometheus") {
			c.add(p+".metricSource.type", "%q is not supported; statusd reads Prometheus", *ms.Type)
			return "", ""
		}
		q, _ := ms.Spec["query"].(string)
		if q == "" {
			c.add(p+".metricSource.spec", "missing query")
			return "", ""
		}
		url := ""
		if ms.MetricSourceRef == nil {
			c.add(p+".metricSource", "missing metricSourceRef naming a DataSource of type Prometheus")
		} else if url = sources[*ms.MetricSourceRef]; url == "" {
			c.add(p+".metricSource.metricSourceRef", "no DataSource %q of type Prometheus in the OpenSLO files", *ms.MetricSourceRef)
		}
		if r.Counter != nil && *r.Counter {
			// A counter's selector: statusd needs the events of each minute.
			q = "sum(increase(" + q + "[1m]))"
		}
		return q, url
	}
	total, url := query(path+".total", r.Total)
	if r.Total == nil {
		c.missing(path, "total")
	}
	switch {
	case r.Good != nil && r.Bad != nil:
		c.add(path, "give good or bad, not both")
	case r.Good != nil:
		f.GoodQuery, _ = query(path+".good", r.Good)
	case r.Bad != nil:
		bad, _ := query(path+".bad", r.Bad)
		if bad != "" && total != "" {
			f.GoodQuery = "(" + total + ") - (" + bad + ")"
		}
	default:
		c.add(path, "missing good or bad")
	}
	f.TotalQuery, f.URL = total, url
}

func (c *checker) opensloWindow(path string, w rawOpenSLOWindow, s *SLOConfig) {
	if w.Duration == nil {
		c.missing(path, "duration")
		return
	}
	m := opensloDurationPattern.FindStringSubmatch(*w.Duration)
	if m == nil {
		c.add(path+".duration", "%q is not an OpenSLO duration such as 28d or 1M", *w.Duration)
		return
	}
	n, _ := strconv.Atoi(m[1])
	rolling := w.IsRolling == nil || *w.IsRolling
	if !rolling {
		if n != 1 || m[2] != "M" {
			c.add(path+".duration", "%q: a calendar window must be 1M (a calendar month)", *w.Duration)
		}
		s.CalendarMonth = true
		return
	}
	if w.Calendar != nil {
		c.add(path+".calendar", "a rolling window has no calendar")
	}
	unit := map[string]time.Duration{"m": time.Minute, "h": time.Hour, "d": day, "w": 7 * day}[m[2]]
	d := time.Duration(n) * unit
	if unit == 0 || d < day || d > 90*day {
		c.add(path+".duration", "%q is not supported; a rolling window is 1d to 90d", *w.Duration)
		return
	}
	s.Window = d
}
