package server

import (
	"container/list"
	"context"
	"strconv"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/statusd/statusd/data"
)

// Every incident and maintenance ever published keeps its page at
// /incidents/{id}, which is also its Statuspage shortlink and its feed
// link. The snapshot holds the recent ones (see data.Snapshot.Incidents);
// the archive answers for the others, so memory does not grow with the
// history:
//
//   - the ids of all incidents are kept in a set (about 60 bytes each, 0.6 MB
//     for 10,000), so an unknown id gets the prebuilt 404 without touching
//     the store, whoever asks and however often;
//   - an older incident's page is read from the store and rendered with the
//     same templates on its first request, once however many ask at the same
//     time (singleflight), at most archiveRenders at a time;
//   - rendered pages stay in an LRU bounded by count and bytes, valid while
//     what pages share (the model's pageKey) is unchanged, and served even
//     when out of date if the store cannot be read. A page that leaves the
//     snapshot is handed to the LRU as it is; one that comes back into it
//     (the incident was updated) is dropped from the LRU.
//
// The page of an archived incident is byte for byte the page it had in the
// snapshot, with the same ETag and Last-Modified.

const (
	archiveEntries = 1024     // pages kept
	archiveBytes   = 16 << 20 // bytes kept, counting every encoding
	archiveRenders = 2        // renders at the same time
	archiveTimeout = 5 * time.Second
)

// archive is ready for use as its zero value.
type archive struct {
	mu  sync.RWMutex
	ids map[string]struct{} // every incident and maintenance id
	seq int64               // data.Snapshot.IDsSeq of the last read
	day string              // the day ids were last read in full

	lmu   sync.Mutex
	lru   list.List // of *archived, most recently used first
	byID  map[string]*list.Element
	bytes int
	epoch uint64 // advanced by every drop, so a render begun before it is not kept

	flight    singleflight.Group
	slotsOnce sync.Once
	slots     chan struct{}
}

type archived struct {
	id      string
	pageKey uint64
	e       *entry
	size    int
}

// after is the IDsAfter for the next snapshot read: 0 (all ids) on a day's
// first read, else the position of the last.
func (a *archive) after(day string) (int64, idsRead) {
	a.mu.RLock()
	defer a.mu.RUnlock()
	if a.day != day {
		return 0, idsRead{full: true, day: day}
	}
	return a.seq, idsRead{day: day}
}

// known reports whether id is an incident or maintenance the last snapshot
// read knew of.
func (a *archive) known(id string) bool {
	a.mu.RLock()
	_, ok := a.ids[id]
	a.mu.RUnlock()
	return ok
}

// update brings the archive up to date with a new snapshot: it learns the
// ids a fresh read reported (all of them when ids.full, read on day ids.day),
// drops the pages of incidents that came back into the snapshot and keeps
// those that left it. Called by render, before next is served.
func (a *archive) update(m *model, ids idsRead, prev, next *snapshot) {
	a.mu.Lock()
	if a.ids == nil || (ids.full && !m.stale) {
		a.ids = make(map[string]struct{}, len(m.snap.IDs))
	}
	if !m.stale {
		for _, id := range m.snap.IDs {
			a.ids[id] = struct{}{}
		}
		a.seq = m.snap.IDsSeq
		if ids.full {
			a.day = ids.day
		}
	}
	var recent []string
	for _, l := range [][]data.Incident{m.incidents, m.maintenances} {
		for _, in := range l {
			a.ids[in.ID] = struct{}{} // the snapshot's own, in case the ids lag
			recent = append(recent, in.ID)
		}
	}
	a.mu.Unlock()

	a.lmu.Lock()
	defer a.lmu.Unlock()
	for _, id := range recent {
		if prev == nil || prev.entries["/incidents/"+id] == nil {
			a.drop(id)
		}
	}
	if prev == nil || prev.pageKey != next.pageKey {
		// Pages rendered under another pageKey are out of date; get no
		// longer returns them, but they stay for stale until evicted.
		a.epoch++
		return
	}
	for path, e := range prev.entries {
		if id, ok := incidentPath(path); ok && next.entries[path] == nil {
			a.put(id, next.pageKey, e)
		}
	}
}

// idsRead says how the ids of a snapshot read were asked for.
type idsRead struct {
	full bool   // all ids, not only new ones
	day  string // the day of the read, in the page's zone
}

// incidentPath returns the id in an incident page's path.
func incidentPath(path string) (string, bool) {
	const prefix = "/incidents/"
	if len(path) <= len(prefix) || path[:len(prefix)] != prefix {
		return "", false
	}
	return path[len(prefix):], true
}

// get returns the cached page of id rendered under pageKey, or nil.
func (a *archive) get(id string, pageKey uint64) *entry {
	a.lmu.Lock()
	defer a.lmu.Unlock()
	el := a.byID[id]
	if el == nil {
		return nil
	}
	ar := el.Value.(*archived)
	if ar.pageKey != pageKey {
		return nil
	}
	a.lru.MoveToFront(el)
	return ar.e
}

// load returns the page of id under pageKey, rendering it with render if it
// is not cached. Concurrent calls for the same page share one render.
func (a *archive) load(id string, pageKey uint64, render func(ctx context.Context) (*entry, error)) (*entry, error) {
	if e := a.get(id, pageKey); e != nil {
		return e, nil
	}
	a.slotsOnce.Do(func() { a.slots = make(chan struct{}, archiveRenders) })
	v, err, _ := a.flight.Do(id+"\x00"+strconv.FormatUint(pageKey, 16), func() (any, error) {
		ctx, cancel := context.WithTimeout(context.Background(), archiveTimeout)
		defer cancel()
		select {
		case a.slots <- struct{}{}:
			defer func() { <-a.slots }()
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		if e := a.get(id, pageKey); e != nil {
			return e, nil // rendered while this call waited for a slot
		}
		a.lmu.Lock()
		epoch := a.epoch
		a.lmu.Unlock()
		e, err := render(ctx)
		if err != nil {
			return nil, err
		}
		a.lmu.Lock()
		if a.epoch == epoch {
			a.put(id, pageKey, e)
		}
		a.lmu.Unlock()
		return e, nil
	})
	if err != nil {
		return nil, err
	}
	return v.(*entry), nil
}

// put caches e as the page of id and evicts the least recently used pages
// beyond the bounds. a.lmu must be held.
func (a *archive) put(id string, pageKey uint64, e *entry) {
	if a.byID == nil {
		a.byID = map[string]*list.Element{}
	}
	a.drop(id)
	ar := &archived{id: id, pageKey: pageKey, e: e, size: e.size()}
	if ar.size > archiveBytes/4 {
		return // one huge page must not empty the cache
	}
	a.byID[id] = a.lru.PushFront(ar)
	a.bytes += ar.size
	for a.lru.Len() > archiveEntries || a.bytes > archiveBytes {
		last := a.lru.Back()
		old := last.Value.(*archived)
		a.lru.Remove(last)
		delete(a.byID, old.id)
		a.bytes -= old.size
	}
}

// drop forgets the page of id. a.lmu must be held.
func (a *archive) drop(id string) {
	a.epoch++
	el := a.byID[id]
	if el == nil {
		return
	}
	a.lru.Remove(el)
	delete(a.byID, id)
	a.bytes -= el.Value.(*archived).size
}

// stale returns the cached page of id whatever it was rendered under, or
// nil: when the store cannot be read, an older rendering of a page about
// the past is better than an error.
func (a *archive) stale(id string) *entry {
	a.lmu.Lock()
	defer a.lmu.Unlock()
	if el := a.byID[id]; el != nil {
		return el.Value.(*archived).e
	}
	return nil
}

// stats reports how many pages the archive holds and their bytes, and how
// many ids it knows.
func (a *archive) stats() (pages, bytes, ids int) {
	a.lmu.Lock()
	pages, bytes = a.lru.Len(), a.bytes
	a.lmu.Unlock()
	a.mu.RLock()
	ids = len(a.ids)
	a.mu.RUnlock()
	return pages, bytes, ids
}
