package data

import (
	"encoding/binary"
	"errors"
	"math"
	"time"
)

// ProbeOutcome is how one probe run went.
type ProbeOutcome string

// The probe outcomes, best first.
const (
	ProbeUp       ProbeOutcome = "up"
	ProbeDegraded ProbeOutcome = "degraded" // it worked, but slower than the probe's threshold or close to a limit
	ProbeDown     ProbeOutcome = "down"
)

// Valid reports whether o is one of the defined outcomes.
func (o ProbeOutcome) Valid() bool { return o == ProbeUp || o == ProbeDegraded || o == ProbeDown }

// Good reports whether the run counts as available: up or degraded.
func (o ProbeOutcome) Good() bool { return o == ProbeUp || o == ProbeDegraded }

// Level orders outcomes: up 0, degraded 1, down 2.
func (o ProbeOutcome) Level() int {
	switch o {
	case ProbeDegraded:
		return 1
	case ProbeDown:
		return 2
	}
	return 0
}

// DefaultRegion is the region of results from the probes this process runs.
const DefaultRegion = "local"

// ProbeResult is one run of one probe from one region. Remote probe agents
// send the same shape.
type ProbeResult struct {
	ProbeID     string
	ComponentID string
	Region      string // DefaultRegion unless a remote agent ran it
	At          time.Time
	Duration    time.Duration // the whole run; for a journey, all steps
	Outcome     ProbeOutcome
	Reason      string // why it was degraded or down, for people; never a secret
	Step        string // the journey step that decided the outcome, "" otherwise
	// Maintenance is set when the component was under maintenance: the run
	// is kept but does not count against uptime or SLOs.
	Maintenance bool
}

// Validate checks a result before it is stored.
func (r ProbeResult) Validate() error {
	if err := ValidateID("probe", r.ProbeID); err != nil {
		return err
	}
	if err := ValidateID("component", r.ComponentID); err != nil {
		return err
	}
	if err := ValidateID("region", r.Region); err != nil {
		return err
	}
	if !r.Outcome.Valid() {
		return Invalid("outcome", "%q is not up, degraded or down", r.Outcome)
	}
	if r.At.IsZero() {
		return Invalid("at", "a result needs a time")
	}
	if r.Duration < 0 {
		return Invalid("duration", "%s is negative", r.Duration)
	}
	return nil
}

// ProbeMinute is the count of good and all runs in one minute, summed over
// probes and regions: what an SLO is computed from. Runs during maintenance
// are in neither.
type ProbeMinute struct {
	Start       time.Time
	Good, Total int64
}

// ProbeRange selects aggregates: one component's probes or one probe (set
// exactly one), from From (inclusive) to To (exclusive).
type ProbeRange struct {
	ComponentID string
	ProbeID     string
	From, To    time.Time
}

// ProbeStats is one aggregate row: a probe in a region over a minute or a day.
type ProbeStats struct {
	ProbeID     string
	ComponentID string
	Region      string
	Start       time.Time
	Total       int64 // runs outside maintenance
	Good        int64 // of which up or degraded
	Degraded    int64
	Down        int64
	Maintenance int64 // runs during maintenance, not in Total
	// Latency percentiles of the good runs, estimated from a histogram
	// (within one bucket, a factor of 1.26).
	P50, P95, P99 time.Duration
}

// SuccessRatio is Good/Total, or 1 with no runs.
func (p ProbeStats) SuccessRatio() float64 {
	if p.Total == 0 {
		return 1
	}
	return float64(p.Good) / float64(p.Total)
}

// MeasuredDay is one day of a component's measured uptime: the runs of all
// its probes in all regions, outside maintenance.
type MeasuredDay struct {
	Date        time.Time // start of the day in the requested time zone
	Good, Total int64
}

// HasData reports whether any run counted that day.
func (d MeasuredDay) HasData() bool { return d.Total > 0 }

// Uptime is the share of good runs, 0..1; 1 without data.
func (d MeasuredDay) Uptime() float64 {
	if d.Total == 0 {
		return 1
	}
	return float64(d.Good) / float64(d.Total)
}

// LatencyHistogram counts latencies in fixed, exponentially growing buckets
// (three per doubling, from 0.5 ms to a few minutes), so histograms of
// different batches, minutes and days merge by adding counts and still give
// percentiles within one bucket (a factor of 1.26).
type LatencyHistogram [histBuckets]uint64

const (
	histBuckets = 64
	histBase    = 500 * time.Microsecond
)

// histUpper is the upper bound of each bucket; the last is open.
var histUpper = func() [histBuckets]time.Duration {
	var u [histBuckets]time.Duration
	for i := range u {
		u[i] = time.Duration(float64(histBase) * math.Pow(2, float64(i)/3))
	}
	u[histBuckets-1] = math.MaxInt64
	return u
}()

func histBucket(d time.Duration) int {
	if d <= histBase {
		return 0
	}
	i := int(math.Ceil(3 * math.Log2(float64(d)/float64(histBase))))
	if i >= histBuckets-1 {
		return histBuckets - 1
	}
	// Correct for rounding at the bucket edges.
	for i > 0 && d <= histUpper[i-1] {
		i--
	}
	for i < histBuckets-1 && d > histUpper[i] {
		i++
	}
	return min(i, histBuckets-1)
}

// Add counts one latency.
func (h *LatencyHistogram) Add(d time.Duration) { h[histBucket(d)]++ }

// Merge adds o's counts to h.
func (h *LatencyHistogram) Merge(o *LatencyHistogram) {
	for i := range h {
		h[i] += o[i]
	}
}

// Count is the number of latencies counted.
func (h *LatencyHistogram) Count() uint64 {
	var n uint64
	for _, c := range h {
		n += c
	}
	return n
}

// Quantile estimates the q-quantile (0 < q ≤ 1) by interpolating inside the
// bucket it falls in; 0 for an empty histogram.
func (h *LatencyHistogram) Quantile(q float64) time.Duration {
	n := h.Count()
	if n == 0 {
		return 0
	}
	rank := q * float64(n)
	var seen float64
	for i, c := range h {
		if c == 0 {
			continue
		}
		if seen+float64(c) >= rank {
			lo := time.Duration(0)
			if i > 0 {
				lo = histUpper[i-1]
			}
			hi := histUpper[i]
			if i == histBuckets-1 {
				return lo // open bucket: the only bound known
			}
			frac := (rank - seen) / float64(c)
			return lo + time.Duration(frac*float64(hi-lo))
		}
		seen += float64(c)
	}
	return histUpper[histBuckets-2]
}

// MarshalBinary encodes the counts as uvarints (a few bytes for a sparse
// histogram).
func (h *LatencyHistogram) MarshalBinary() ([]byte, error) {
	b := make([]byte, 0, 2*histBuckets)
	for _, c := range h {
		b = binary.AppendUvarint(b, c)
	}
	return b, nil
}

var errBadHistogram = errors.New("bad latency histogram")

// UnmarshalBinary decodes what MarshalBinary wrote. An empty input is an
// empty histogram.
func (h *LatencyHistogram) UnmarshalBinary(b []byte) error {
	*h = LatencyHistogram{}
	for i := 0; len(b) > 0; i++ {
		if i >= histBuckets {
			return errBadHistogram
		}
		c, n := binary.Uvarint(b)
		if n <= 0 {
			return errBadHistogram
		}
		h[i] = c
		b = b[n:]
	}
	return nil
}

// ApplyMeasuredUptime overlays measured uptime on status-derived days:
// where probes ran on a day (outside maintenance), that day's uptime is the
// share of good runs; other days keep the uptime their status history gives.
// days and measured must cover the same dates in the same order, as
// Snapshot's Uptime and MeasuredUptime do for the same window and zone;
// extra entries on either side are ignored.
func ApplyMeasuredUptime(days []DayUptime, measured []MeasuredDay) {
	for i := range min(len(days), len(measured)) {
		m := measured[i]
		if !m.HasData() || !m.Date.Equal(days[i].Date) {
			continue
		}
		days[i].HasData = true
		days[i].Uptime = m.Uptime()
		days[i].Measured = true
	}
}
