package slo

import (
	"math"
	"time"
)

// bucket is one minute of the ring.
type bucket struct{ good, total uint32 }

// counts is a number of good events and of all events.
type counts struct{ good, total int64 }

func (c counts) bad() int64 { return c.total - c.good }

// series holds an SLO's recent minutes in a ring of minute buckets and keeps
// a running sum for each window over them, so that a new minute costs one
// subtraction per window whatever the windows' lengths, and a late minute
// one addition per window that covers it.
//
// Minutes are Unix minutes (seconds / 60). The ring holds the minutes
// (head-n, head]; each rolling window of w minutes sums (head-w, head], the
// current, unfinished minute included. A calendar-month window sums the
// minutes from the month's start in loc up to head.
//
// Buckets are two uint32 (8 bytes a minute: 346 KB for 30 days): a minute
// with more than 4,294,967,295 events is refused.
type series struct {
	// buckets[slot(m)] holds minute m; good and total side by side, so a
	// minute costs one cache line, not two.
	buckets []bucket
	n       int64 // the ring's length in minutes
	head    int64 // the newest minute held; valid once started
	started bool

	wins []int64  // rolling windows in minutes, each ≤ n
	sums []counts // the running sum of each of wins

	loc       *time.Location // calendar month: where months begin; nil for none
	month     counts         // the sum since monthStart
	monthFrom int64          // the current month's first minute
	monthTo   int64          // the next month's first minute
}

// newSeries makes a ring long enough for the longest of wins (and a month
// when loc is not nil).
func newSeries(wins []int64, loc *time.Location) *series {
	n := int64(1)
	for _, w := range wins {
		n = max(n, w)
	}
	if loc != nil {
		n = max(n, 31*24*60)
	}
	return &series{buckets: make([]bucket, n), n: n, wins: wins, sums: make([]counts, len(wins)), loc: loc}
}

// unixMinute is the minute t falls in (Unix already floors the seconds).
func unixMinute(t time.Time) int64 { return floorDiv(t.Unix(), 60) }

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

func minuteTime(m int64) time.Time { return time.Unix(m*60, 0).UTC() }

func (s *series) slot(m int64) int64 {
	i := m % s.n
	if i < 0 {
		i += s.n
	}
	return i
}

// monthBounds returns the first minute of the month containing minute m
// and of the next month, in s.loc.
func (s *series) monthBounds(m int64) (int64, int64) {
	t := minuteTime(m).In(s.loc)
	y, mo, _ := t.Date()
	from := time.Date(y, mo, 1, 0, 0, 0, 0, s.loc)
	to := time.Date(y, mo+1, 1, 0, 0, 0, 0, s.loc)
	// Zones whose offset is not whole minutes (historical local mean time)
	// start their month within a minute; round up so it is never early.
	return ceilMinute(from), ceilMinute(to)
}

func ceilMinute(t time.Time) int64 {
	m := unixMinute(t)
	if !minuteTime(m).Equal(t) {
		m++
	}
	return m
}

// advance moves head forward to minute to: each minute that enters a window
// pushes the one that leaves it out of the window's sum. It costs one step
// per window per minute moved, and at most one pass over the ring however
// far it moves.
func (s *series) advance(to int64) {
	if !s.started {
		s.started, s.head = true, to
		if s.loc != nil {
			s.monthFrom, s.monthTo = s.monthBounds(to)
		}
		return
	}
	if to <= s.head {
		return
	}
	if to-s.head >= s.n {
		// Everything held has left every window.
		clear(s.buckets)
		clear(s.sums)
		s.head = to
		if s.loc != nil {
			s.month = counts{}
			s.monthFrom, s.monthTo = s.monthBounds(to)
		}
		return
	}
	for m := s.head + 1; m <= to; m++ {
		for i, w := range s.wins {
			// The minute leaving window i as m enters it. w ≤ n, so it is
			// still in the ring (for w = n it is in m's slot, cleared below).
			b := &s.buckets[s.slot(m-w)]
			s.sums[i].good -= int64(b.good)
			s.sums[i].total -= int64(b.total)
		}
		s.buckets[s.slot(m)] = bucket{}
		if s.loc != nil && m >= s.monthTo {
			s.month = counts{}
			s.monthFrom, s.monthTo = s.monthBounds(m)
		}
	}
	s.head = to
}

// get returns minute m's counts, zero when the ring does not hold it.
func (s *series) get(m int64) counts {
	if !s.started || m > s.head || m <= s.head-s.n {
		return counts{}
	}
	b := s.buckets[s.slot(m)]
	return counts{int64(b.good), int64(b.total)}
}

// holds reports whether minute m can still be changed: it is not older than
// the ring (a later minute is taken by advancing).
func (s *series) holds(m int64) bool { return !s.started || m > s.head-s.n }

// add adds d (which may be negative, to correct a minute) to minute m,
// advancing head to m if it is newer. It returns false, changing nothing,
// when m is older than the ring or the minute's counts would leave
// 0 ≤ good ≤ total ≤ MaxUint32.
func (s *series) add(m int64, d counts) bool {
	if !s.holds(m) {
		return false
	}
	cur := s.get(m)
	g, t := cur.good+d.good, cur.total+d.total
	if g < 0 || t < g || t > math.MaxUint32 {
		return false
	}
	if m > s.head || !s.started {
		s.advance(m)
	}
	s.buckets[s.slot(m)] = bucket{uint32(g), uint32(t)}
	for i, w := range s.wins {
		if m > s.head-w {
			s.sums[i].good += d.good
			s.sums[i].total += d.total
		}
	}
	if s.loc != nil && m >= s.monthFrom {
		s.month.good += d.good
		s.month.total += d.total
	}
	return true
}

// set makes minute m's counts c.
func (s *series) set(m int64, c counts) bool {
	cur := s.get(m)
	return s.add(m, counts{c.good - cur.good, c.total - cur.total})
}

// window returns the running sum of rolling window i.
func (s *series) window(i int) counts { return s.sums[i] }

// sumRange adds up the minutes [from, to] by walking the ring: for tests,
// which check the running sums against it.
func (s *series) sumRange(from, to int64) counts {
	var c counts
	for m := from; m <= to; m++ {
		x := s.get(m)
		c.good += x.good
		c.total += x.total
	}
	return c
}
