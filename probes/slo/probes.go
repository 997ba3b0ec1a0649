package slo

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/statusd/statusd/data"
)

// MinuteSource reads probe results per minute: for each minute in
// [from, to) with runs of the components' probes, how many runs were good
// and how many there were, summed over probes and regions (runs during
// maintenance in neither). The probe result store implements it.
type MinuteSource interface {
	Minutes(ctx context.Context, componentIDs []string, from, to time.Time) ([]data.SLOMinute, error)
}

// Probes is a Source that counts an SLO's events from the probe results of
// its components: a good run is a good event.
type Probes struct {
	Results    MinuteSource
	Components []string
}

var _ Source = (*Probes)(nil)

// Minutes implements Source.
func (p *Probes) Minutes(ctx context.Context, from, to time.Time) ([]data.SLOMinute, error) {
	return p.Results.Minutes(ctx, p.Components, from, to)
}

// ProbeMinuteReader is the probe result store's per-minute read.
// *data.Store satisfies it.
type ProbeMinuteReader interface {
	ProbeMinutes(ctx context.Context, q data.ProbeRange) ([]data.ProbeMinute, error)
}

var _ ProbeMinuteReader = (*data.Store)(nil)

// StoreResults is the MinuteSource over the probe result store: one read
// per component, summed by minute.
type StoreResults struct {
	Store ProbeMinuteReader
}

var _ MinuteSource = StoreResults{}

// Minutes implements MinuteSource.
func (r StoreResults) Minutes(ctx context.Context, componentIDs []string, from, to time.Time) ([]data.SLOMinute, error) {
	byMinute := map[int64]*data.SLOMinute{}
	var order []int64
	for _, id := range componentIDs {
		ms, err := r.Store.ProbeMinutes(ctx, data.ProbeRange{ComponentID: id, From: from, To: to})
		if err != nil {
			return nil, fmt.Errorf("read probe minutes of %s: %w", id, err)
		}
		for _, m := range ms {
			k := unixMinute(m.Start)
			if b, ok := byMinute[k]; ok {
				b.Good += m.Good
				b.Total += m.Total
				continue
			}
			byMinute[k] = &data.SLOMinute{Start: minuteTime(k), Good: m.Good, Total: m.Total}
			order = append(order, k)
		}
	}
	slices.Sort(order)
	out := make([]data.SLOMinute, 0, len(order))
	for _, k := range order {
		out = append(out, *byMinute[k])
	}
	return out, nil
}
