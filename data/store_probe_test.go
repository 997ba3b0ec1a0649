package data_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/statusd/statusd/data"
	"github.com/statusd/statusd/data/datatest"
)

func result(probe, comp string, at time.Time, d time.Duration, o data.ProbeOutcome) data.ProbeResult {
	return data.ProbeResult{ProbeID: probe, ComponentID: comp, Region: data.DefaultRegion, At: at, Duration: d, Outcome: o}
}

func TestRecordProbeResultsAggregates(t *testing.T) {
	s := datatest.MustOpen(t)
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	base := time.Date(2026, 3, 10, 22, 59, 0, 0, time.UTC) // 23:59 in Berlin
	var batch1, batch2 []data.ProbeResult
	// Minute 1: 98 up (1..98 ms), 1 degraded, 1 down; split across two batches.
	for i := 1; i <= 98; i++ {
		r := result("api", "rest-api", base.Add(time.Duration(i)*100*time.Millisecond), time.Duration(i)*time.Millisecond, data.ProbeUp)
		if i%2 == 0 {
			batch1 = append(batch1, r)
		} else {
			batch2 = append(batch2, r)
		}
	}
	batch1 = append(batch1, result("api", "rest-api", base.Add(50*time.Second), 900*time.Millisecond, data.ProbeDegraded))
	batch2 = append(batch2, result("api", "rest-api", base.Add(51*time.Second), 5*time.Second, data.ProbeDown))
	// During maintenance: counted apart.
	m := result("api", "rest-api", base.Add(52*time.Second), time.Second, data.ProbeDown)
	m.Maintenance = true
	batch2 = append(batch2, m)
	// Minute 2 is the next day in Berlin; another region.
	next := result("api", "rest-api", base.Add(61*time.Second), 10*time.Millisecond, data.ProbeDown)
	next.Region = "eu-west"
	batch2 = append(batch2, next)
	for _, b := range [][]data.ProbeResult{batch1, batch2} {
		if err := s.RecordProbeResults(ctx, b, berlin); err != nil {
			t.Fatal(err)
		}
	}
	stats, err := s.ProbeStatsByMinute(ctx, data.ProbeRange{ProbeID: "api", From: base, To: base.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if len(stats) != 2 {
		t.Fatalf("got %d minute rows; want 2: %+v", len(stats), stats)
	}
	m1 := stats[0]
	if m1.Total != 100 || m1.Good != 99 || m1.Degraded != 1 || m1.Down != 1 || m1.Maintenance != 1 {
		t.Errorf("minute 1 = %+v; want total 100, good 99, degraded 1, down 1, maintenance 1", m1)
	}
	within := func(name string, got, want time.Duration) {
		t.Helper()
		if float64(got) < float64(want)/1.3 || float64(got) > float64(want)*1.3 {
			t.Errorf("%s = %v; want about %v", name, got, want)
		}
	}
	within("p50", m1.P50, 50*time.Millisecond)
	within("p95", m1.P95, 95*time.Millisecond)
	if m1.P99 < 98*time.Millisecond/2 {
		t.Errorf("p99 = %v", m1.P99)
	}
	if got := stats[1]; got.Region != "eu-west" || got.Total != 1 || got.Down != 1 {
		t.Errorf("minute 2 = %+v", got)
	}

	days, err := s.ProbeStatsByDay(ctx, data.ProbeRange{ComponentID: "rest-api", From: base.Add(-48 * time.Hour), To: base.Add(48 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if len(days) != 2 || !days[0].Start.Equal(time.Date(2026, 3, 10, 0, 0, 0, 0, berlin)) || days[0].Total != 100 {
		t.Errorf("days = %+v; want the Berlin days 10 and 11 March", days)
	}

	mins, err := s.ProbeMinutes(ctx, data.ProbeRange{ComponentID: "rest-api", From: base, To: base.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	want := []data.ProbeMinute{{Start: base, Good: 99, Total: 100}, {Start: base.Add(time.Minute), Good: 0, Total: 1}}
	if !slices.Equal(mins, want) {
		t.Errorf("ProbeMinutes = %+v; want %+v", mins, want)
	}

	up, err := s.MeasuredUptime(ctx, time.Date(2026, 3, 9, 12, 0, 0, 0, berlin), 3, berlin)
	if err != nil {
		t.Fatal(err)
	}
	got := up["rest-api"]
	if len(got) != 3 || got[0].HasData() || got[1].Total != 100 || got[1].Good != 99 || got[2].Total != 1 || got[2].Uptime() != 0 {
		t.Errorf("MeasuredUptime = %+v", got)
	}
	if _, ok := up["payments"]; ok {
		t.Error("a component without probes has measured uptime")
	}

	latest, err := s.LatestProbeResults(ctx, "api", 1)
	if err != nil || len(latest) != 1 || latest[0].Region != "eu-west" || latest[0].Duration != 10*time.Millisecond {
		t.Errorf("LatestProbeResults = %+v, %v", latest, err)
	}
}

func TestRecordProbeResultsInvalid(t *testing.T) {
	s := datatest.MustOpen(t)
	bad := result("api", "rest-api", time.Now(), time.Millisecond, "sideways")
	var inv *data.InvalidError
	if err := s.RecordProbeResults(ctx, []data.ProbeResult{bad}, nil); !errors.As(err, &inv) {
		t.Errorf("RecordProbeResults(bad outcome) = %v; want InvalidError", err)
	}
	if _, err := s.ProbeMinutes(ctx, data.ProbeRange{}); !errors.As(err, &inv) {
		t.Errorf("ProbeMinutes(no subject) = %v; want InvalidError", err)
	}
}

func TestPruneProbeData(t *testing.T) {
	s := datatest.MustOpen(t)
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	var rs []data.ProbeResult
	for i := range 2500 {
		rs = append(rs, result("p", "c", now.Add(-time.Duration(2500-i)*time.Minute), time.Millisecond, data.ProbeUp))
	}
	if err := s.RecordProbeResults(ctx, rs, time.UTC); err != nil {
		t.Fatal(err)
	}
	cut := now.Add(-1000 * time.Minute)
	var total int
	for {
		n, err := s.PruneProbeData(ctx, data.ProbeRetention{ResultsBefore: cut, AggregatesBefore: cut, Batch: 200})
		if err != nil {
			t.Fatal(err)
		}
		total += n
		if n == 0 {
			break
		}
	}
	if n, _ := s.CountProbeResults(ctx); n != 1000 {
		t.Errorf("%d results left; want 1000", n)
	}
	mins, err := s.ProbeMinutes(ctx, data.ProbeRange{ProbeID: "p", From: now.Add(-100 * time.Hour), To: now})
	if err != nil {
		t.Fatal(err)
	}
	if len(mins) != 1000 || mins[0].Start.Before(cut) {
		t.Errorf("%d minutes left, first %v; want 1000 from %v", len(mins), mins[0].Start, cut)
	}
	if total < 3000 {
		t.Errorf("pruned %d rows; want at least 3000", total)
	}
}

func TestLatencyHistogram(t *testing.T) {
	var h data.LatencyHistogram
	if h.Quantile(0.5) != 0 {
		t.Error("empty histogram has a median")
	}
	rng := rand.New(rand.NewPCG(1, 2))
	var ds []time.Duration
	for range 10000 {
		d := time.Duration(rng.ExpFloat64() * float64(40*time.Millisecond))
		ds = append(ds, d)
		h.Add(d)
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	for _, q := range []float64{0.5, 0.95, 0.99} {
		exact := ds[int(q*float64(len(ds)))-1]
		got := h.Quantile(q)
		if r := float64(got) / float64(exact); r < 1/1.27 || r > 1.27 {
			t.Errorf("Quantile(%v) = %v; exact %v", q, got, exact)
		}
	}
	b, _ := h.MarshalBinary()
	var back data.LatencyHistogram
	if err := back.UnmarshalBinary(b); err != nil || back != h {
		t.Errorf("round trip: %v", err)
	}
	if err := back.UnmarshalBinary([]byte{0xff}); err == nil {
		t.Error("truncated varint accepted")
	}
	// Extremes land in the first and last bucket.
	h = data.LatencyHistogram{}
	h.Add(0)
	h.Add(time.Hour)
	if h.Count() != 2 || h.Quantile(1) <= time.Minute {
		t.Errorf("extremes: count %d, max %v", h.Count(), h.Quantile(1))
	}
}

func TestComponentsInMaintenance(t *testing.T) {
	s := datatest.MustOpen(t)
	if _, err := s.SyncCatalog(ctx, catalog(), "test"); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	_, err := s.CreateMaintenance(ctx, data.NewMaintenance{Name: "DB upgrade", Body: "Upgrading.", Actor: "ops",
		ScheduledFor: now.Add(-time.Minute), ScheduledUntil: now.Add(time.Hour), ComponentIDs: []string{"payments"}})
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.ComponentsInMaintenance(ctx, now)
	if err != nil || !got["payments"] || len(got) != 1 {
		t.Errorf("ComponentsInMaintenance = %v, %v; want payments", got, err)
	}
	got, _ = s.ComponentsInMaintenance(ctx, now.Add(2*time.Hour))
	if len(got) != 0 {
		t.Errorf("after the window: %v", got)
	}
}

func TestApplyMeasuredUptime(t *testing.T) {
	d0 := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	days := []data.DayUptime{
		{Date: d0, HasData: true, Uptime: 1},
		{Date: d0.AddDate(0, 0, 1), HasData: true, Uptime: 0.5},
		{Date: d0.AddDate(0, 0, 2)},
	}
	measured := []data.MeasuredDay{
		{Date: d0, Good: 990, Total: 1000},
		{Date: d0.AddDate(0, 0, 1)},
		{Date: d0.AddDate(0, 0, 2), Good: 1, Total: 2},
	}
	data.ApplyMeasuredUptime(days, measured)
	if days[0].Uptime != 0.99 || days[1].Uptime != 0.5 || !days[2].HasData || days[2].Uptime != 0.5 {
		t.Errorf("days = %+v", days)
	}
}

// TestWatchIgnoresProbeResults: batches of probe results, committed all the
// time, change nothing the page shows and must not wake the snapshot
// builder; a status change still does.
func TestWatchIgnoresProbeResults(t *testing.T) {
	s := datatest.MustOpen(t)
	if _, err := s.SyncCatalog(ctx, catalog(), "config"); err != nil {
		t.Fatal(err)
	}
	changes, stop := s.Subscribe()
	defer stop()
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() { _ = s.Watch(wctx, 5*time.Millisecond) }()
	select {
	case <-changes: // the first read
	case <-time.After(10 * time.Second):
		t.Fatal("no first signal from Watch")
	}
	for i := range 10 {
		r := result("pay", "payments", time.Now(), time.Millisecond, data.ProbeUp)
		if err := s.RecordProbeResults(ctx, []data.ProbeResult{r}, nil); err != nil {
			t.Fatal(err)
		}
		time.Sleep(10 * time.Millisecond) // two polls of Watch
		select {
		case <-changes:
			t.Fatalf("batch %d of probe results woke subscribers", i)
		default:
		}
	}
	// A second store on the file (another process) changes a status.
	other, err := data.Open(ctx, s.Path())
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if _, err := other.SetComponentStatus(ctx, data.SetStatus{ComponentID: "payments", Status: data.MajorOutage, Actor: "t"}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-changes:
	case <-time.After(10 * time.Second):
		t.Fatal("no signal for another process's status change")
	}
}
