package probes

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/statusd/statusd/data"
	"github.com/statusd/statusd/data/datatest"
)

// countingStore counts write transactions on the way to a real store.
type countingStore struct {
	*data.Store
	writes atomic.Int64
	fail   atomic.Bool
}

func (c *countingStore) RecordProbeResults(ctx context.Context, rs []data.ProbeResult, loc *time.Location) error {
	c.writes.Add(1)
	if c.fail.Load() {
		return errors.New("disk on fire")
	}
	return c.Store.RecordProbeResults(ctx, rs, loc)
}

func TestWriterBatchesEveryResult(t *testing.T) {
	st := &countingStore{Store: datatest.MustOpen(t)}
	w := NewWriter(st, WriterOptions{BatchSize: 500, FlushEvery: time.Hour})
	w.Start(t.Context())
	at := time.Now().Add(-time.Minute)
	for i := range 5250 {
		w.Record(data.ProbeResult{ProbeID: "p", ComponentID: "c", Region: "local", At: at.Add(time.Duration(i) * time.Millisecond),
			Duration: time.Millisecond, Outcome: data.ProbeUp})
	}
	if err := w.Stop(t.Context()); err != nil {
		t.Fatal(err)
	}
	n, err := st.CountProbeResults(t.Context())
	if err != nil || n != 5250 {
		t.Fatalf("stored %d results (%v); want 5250", n, err)
	}
	if got := st.writes.Load(); got > 12 {
		t.Errorf("%d write transactions for 5250 results in batches of 500", got)
	}
}

func TestWriterFlushesOnTimer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var got atomic.Int64
		st := fakeResultStore{record: func(rs []data.ProbeResult) error { got.Add(int64(len(rs))); return nil }}
		w := NewWriter(st, WriterOptions{BatchSize: 1000, FlushEvery: 100 * time.Millisecond})
		w.Start(t.Context())
		w.Record(data.ProbeResult{ProbeID: "p"})
		time.Sleep(150 * time.Millisecond)
		synctest.Wait()
		if got.Load() != 1 {
			t.Errorf("after one flush interval %d results written; want 1", got.Load())
		}
		_ = w.Stop(t.Context())
	})
}

func TestWriterGivesUpOnBrokenStore(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var calls atomic.Int64
		st := fakeResultStore{record: func([]data.ProbeResult) error { calls.Add(1); return errors.New("disk on fire") }}
		w := NewWriter(st, WriterOptions{BatchSize: 10, FlushEvery: time.Second})
		w.Start(t.Context())
		for range 25 {
			w.Record(data.ProbeResult{ProbeID: "p"})
		}
		time.Sleep(time.Minute)
		if err := w.Stop(t.Context()); err != nil {
			t.Fatal(err)
		}
		// 3 batches, each tried 4 times, then dropped: nothing is held.
		if c := calls.Load(); c != 12 {
			t.Errorf("%d write attempts; want 12", c)
		}
	})
}

type fakeResultStore struct {
	record func([]data.ProbeResult) error
}

func (f fakeResultStore) RecordProbeResults(_ context.Context, rs []data.ProbeResult, _ *time.Location) error {
	return f.record(rs)
}

func (f fakeResultStore) PruneProbeData(context.Context, data.ProbeRetention) (int, error) {
	return 0, nil
}

func TestWriterPrunes(t *testing.T) {
	st := datatest.MustOpen(t)
	old := time.Now().Add(-10 * 24 * time.Hour)
	var rs []data.ProbeResult
	for i := range 2500 {
		rs = append(rs, data.ProbeResult{ProbeID: "p", ComponentID: "c", Region: "local", At: old.Add(time.Duration(i) * time.Second), Outcome: data.ProbeUp})
	}
	rs = append(rs, data.ProbeResult{ProbeID: "p", ComponentID: "c", Region: "local", At: time.Now(), Outcome: data.ProbeUp})
	if err := st.RecordProbeResults(t.Context(), rs, nil); err != nil {
		t.Fatal(err)
	}
	w := NewWriter(st, WriterOptions{ResultsFor: 24 * time.Hour, PruneBatch: 300})
	if _, err := w.Prune(t.Context()); err != nil {
		t.Fatal(err)
	}
	if n, _ := st.CountProbeResults(t.Context()); n != 1 {
		t.Errorf("%d results left after pruning; want 1", n)
	}
}
