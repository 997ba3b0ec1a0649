package slo

import (
	"context"
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
