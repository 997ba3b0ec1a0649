package server

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/andybalholm/brotli"

	"github.com/statusd/statusd/data"
	"github.com/statusd/statusd/data/datatest"
)

// countingStore counts the incidents read one by one, which only the
// archive does.
type countingStore struct {
	*data.Store
	reads atomic.Int64
}

func (c *countingStore) Incident(ctx context.Context, id string) (data.Incident, error) {
	c.reads.Add(1)
	return c.Store.Incident(ctx, id)
}

// TestPermanentLinks publishes an incident 400 days before goldenNow and
// reads its shortlink (incidents.json) and feed link (history.rss) while it
// is recent. Once 55 newer incidents have pushed it out of the 90-day
// window and the newest 50, both links still answer 200 with the page it
// had, byte for byte, with the same validators and conditional answers as
// any page of the snapshot, read from the store once however many ask.
// Unknown ids never reach the store.
func TestPermanentLinks(t *testing.T) {
	ctx := context.Background()
	st := datatest.MustOpen(t)
	clock := goldenNow.AddDate(0, 0, -400)
	st.Now = func() time.Time { return clock }
	n := 0
	st.NewID = func() string { n++; return fmt.Sprintf("pl%010d", n) }
	if _, err := st.SyncCatalog(ctx, fixtureCatalog(), "config"); err != nil {
		t.Fatal(err)
	}
	publish := func(name string) string {
		t.Helper()
		in, err := st.CreateIncident(ctx, data.NewIncident{Name: name, Impact: data.ImpactMajor, Body: "Payments fail.", Actor: "t",
			Components: map[string]data.ComponentStatus{"payments": data.MajorOutage}})
		if err != nil {
			t.Fatal(err)
		}
		clock = clock.Add(time.Hour)
		if _, err := st.AddUpdate(ctx, in.ID, data.NewUpdate{Status: data.Resolved, Body: "Payments work again.", Actor: "t"}); err != nil {
			t.Fatal(err)
		}
		return in.ID
	}
	old := publish("Payments failing, long ago")
	other := publish("Search down, long ago")

	// Then, while it is recent.
	then := fixtureOptions()
	then.Now = func() time.Time { return clock }
	srvThen, err := New(st, then)
	if err != nil {
		t.Fatal(err)
	}
	baseThen := listen(t, srvThen)
	_, body := get(t, "GET", baseThen+"/api/v2/incidents.json", nil)
	var doc struct {
		Incidents []struct{ ID, Shortlink string }
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		t.Fatal(err)
	}
	var shortlink string
	for _, in := range doc.Incidents {
		if in.ID == old {
			shortlink = in.Shortlink
		}
	}
	_, body = get(t, "GET", baseThen+"/history.rss", nil)
	var rss struct {
		Items []struct {
			Link string `xml:"link"`
		} `xml:"channel>item"`
	}
	if err := xml.Unmarshal(body, &rss); err != nil {
		t.Fatal(err)
	}
	var feedLink string
	for _, it := range rss.Items {
		if strings.HasSuffix(it.Link, "/"+old) {
			feedLink = it.Link
		}
	}
	pageURL := then.Page.URL
	if !strings.HasPrefix(shortlink, pageURL+"/") || !strings.HasPrefix(feedLink, pageURL+"/") {
		t.Fatalf("shortlink %q, feed link %q; want links under %s", shortlink, feedLink, pageURL)
	}
	respThen, pageThen := get(t, "GET", baseThen+"/incidents/"+old, nil)
	if respThen.StatusCode != 200 {
		t.Fatalf("recent incident page = %d", respThen.StatusCode)
	}

	// Later: 55 newer incidents, and the clock at goldenNow.
	var newer []string
	for i := 0; i < 55; i++ {
		clock = goldenNow.AddDate(0, 0, -300+4*i)
		newer = append(newer, publish(fmt.Sprintf("Newer incident %d", i)))
	}
	clock = goldenNow
	cs := &countingStore{Store: st}
	srv, err := New(cs, fixtureOptions())
	if err != nil {
		t.Fatal(err)
	}
	snap := srv.snap.Load()
	if snap.entries["/incidents/"+old] != nil || snap.entries["/incidents/"+other] != nil {
		t.Fatal("the old incidents are still in the snapshot; the test tests nothing")
	}
	base := listen(t, srv)
	_, feed := get(t, "GET", base+"/history.rss", nil)
	_, list := get(t, "GET", base+"/api/v2/incidents.json", nil)
	if bytes.Contains(feed, []byte(old)) || bytes.Contains(list, []byte(old)) {
		t.Fatal("the old incident is still in the feed or incidents.json; the test tests nothing")
	}
	// A page of the snapshot, to compare headers with.
	recentResp, _ := get(t, "GET", base+"/incidents/"+snap.model.incidents[0].ID, nil)

	for _, link := range []string{shortlink, feedLink} {
		path := strings.TrimPrefix(link, pageURL)
		resp, page := get(t, "GET", base+path, nil)
		if resp.StatusCode != 200 {
			t.Fatalf("GET %s = %d; want 200", path, resp.StatusCode)
		}
		if !bytes.Equal(page, pageThen) || resp.Header.Get("ETag") != respThen.Header.Get("ETag") {
			t.Errorf("GET %s: the archived page differs from the page it had in the snapshot", path)
		}
		for _, h := range []string{"Cache-Control", "Cdn-Cache-Control", "Surrogate-Control", "Content-Security-Policy", "X-Frame-Options",
			"Content-Type", "Vary", "X-Content-Type-Options", "Referrer-Policy"} {
			if got, want := resp.Header.Get(h), recentResp.Header.Get(h); got != want {
				t.Errorf("GET %s: %s = %q; want %q as on a recent incident's page", path, h, got, want)
			}
		}
		if got, want := resp.Header.Get("Surrogate-Key"), "statusd incident-"+old+" html"; got != want {
			t.Errorf("GET %s: Surrogate-Key = %q; want %q", path, got, want)
		}
		etag, lastMod := resp.Header.Get("ETag"), resp.Header.Get("Last-Modified")
		if r, b := get(t, "GET", base+path, map[string]string{"If-None-Match": etag}); r.StatusCode != 304 || len(b) != 0 {
			t.Errorf("GET %s If-None-Match = %d with %d bytes; want 304", path, r.StatusCode, len(b))
		}
		if r, _ := get(t, "GET", base+path, map[string]string{"If-Modified-Since": lastMod}); r.StatusCode != 304 {
			t.Errorf("GET %s If-Modified-Since = %d; want 304", path, r.StatusCode)
		}
		if r, b := get(t, "HEAD", base+path, nil); r.StatusCode != 200 || len(b) != 0 {
			t.Errorf("HEAD %s = %d", path, r.StatusCode)
		}
		for _, enc := range []string{"gzip", "br"} {
			r, b := get(t, "GET", base+path, map[string]string{"Accept-Encoding": enc})
			var zr io.Reader
			if enc == "gzip" {
				var err error
				if zr, err = gzip.NewReader(bytes.NewReader(b)); err != nil {
					t.Fatal(err)
				}
			} else {
				zr = brotli.NewReader(bytes.NewReader(b))
			}
			plain, err := io.ReadAll(zr)
			if r.Header.Get("Content-Encoding") != enc || err != nil || !bytes.Equal(plain, page) {
				t.Errorf("GET %s in %s: Content-Encoding %q, decoded equal %v (%v)", path, enc, r.Header.Get("Content-Encoding"), bytes.Equal(plain, page), err)
			}
			if r2, _ := get(t, "GET", base+path, map[string]string{"Accept-Encoding": enc, "If-None-Match": r.Header.Get("ETag")}); r2.StatusCode != 304 {
				t.Errorf("GET %s in %s with its ETag = %d; want 304", path, enc, r2.StatusCode)
			}
		}
	}
	if got := cs.reads.Load(); got != 1 {
		t.Errorf("the store was read %d times for one archived page; want 1", got)
	}

	// A burst for another archived incident renders it once.
	var wg sync.WaitGroup
	var bad atomic.Int64
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequest("GET", base+"/incidents/"+other, nil)
			resp, err := client.Do(req)
			if err != nil || resp.StatusCode != 200 {
				bad.Add(1)
			}
			if err == nil {
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		}()
	}
	wg.Wait()
	if bad.Load() > 0 || cs.reads.Load() != 2 {
		t.Errorf("burst: %d failures, %d store reads in all; want 0 and 2", bad.Load(), cs.reads.Load())
	}

	// Unknown ids get the prebuilt 404 without a store read.
	for _, id := range []string{"pl9999999999", "nosuchthing1", old + "x", strings.ToUpper(old)} {
		if r, _ := get(t, "GET", base+"/incidents/"+id, nil); r.StatusCode != 404 {
			t.Errorf("GET /incidents/%s = %d; want 404", id, r.StatusCode)
		}
	}
	if cs.reads.Load() != 2 {
		t.Errorf("unknown ids read the store: %d reads; want 2", cs.reads.Load())
	}

	// A postmortem brings the old incident back into the snapshot; its
	// page shows it, and once it ages out again, the archive does too.
	clock = goldenNow.Add(-time.Hour)
	if _, err := st.AddUpdate(ctx, old, data.NewUpdate{Status: data.Postmortem, Body: "A certificate expired; we now monitor expiry.", Actor: "t"}); err != nil {
		t.Fatal(err)
	}
	clock = goldenNow
	if err := srv.Rebuild(ctx); err != nil {
		t.Fatal(err)
	}
	if srv.snap.Load().entries["/incidents/"+old] == nil {
		t.Fatal("an incident updated today is not in the snapshot")
	}
	_, page := get(t, "GET", base+"/incidents/"+old, nil)
	if !bytes.Contains(page, []byte("we now monitor expiry")) {
		t.Error("the updated incident's page lacks the postmortem")
	}
	clock = goldenNow.AddDate(0, 0, 91)
	if err := srv.Rebuild(ctx); err != nil {
		t.Fatal(err)
	}
	if srv.snap.Load().entries["/incidents/"+old] != nil {
		t.Fatal("the incident is still in the snapshot 91 days after its update")
	}
	if r, page := get(t, "GET", base+"/incidents/"+old, nil); r.StatusCode != 200 || !bytes.Contains(page, []byte("we now monitor expiry")) {
		t.Errorf("archived page after the update = %d, with the postmortem %v", r.StatusCode, bytes.Contains(page, []byte("we now monitor expiry")))
	}

	// When the store cannot be read, cached archived pages are still
	// served, and an uncached one is a 503 that no cache keeps.
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	if err := srv.Rebuild(ctx); err != nil {
		t.Fatal(err)
	}
	if r, _ := get(t, "GET", base+"/incidents/"+other, nil); r.StatusCode != 200 {
		t.Errorf("cached archived page with the store closed = %d; want 200", r.StatusCode)
	}
	uncached := newer[2] // older than the newest 50, never asked for
	r, b := get(t, "GET", base+"/incidents/"+uncached, nil)
	if r.StatusCode != 503 || r.Header.Get("Cache-Control") != "no-store" || bytes.Contains(b, []byte("closed")) {
		t.Errorf("uncached archived page with the store closed = %d, Cache-Control %q, %q; want 503, no-store, no internals",
			r.StatusCode, r.Header.Get("Cache-Control"), b)
	}
}

// TestArchiveBounds fills the archive beyond its bounds: it keeps at most
// archiveEntries pages and archiveBytes bytes, dropping the least recently
// used first.
func TestArchiveBounds(t *testing.T) {
	var a archive
	mk := func(n int) *entry { return &entry{plain: make([]byte, n)} }
	a.lmu.Lock()
	for i := range archiveEntries + 10 {
		a.put(fmt.Sprint(i), 1, mk(100))
	}
	a.lmu.Unlock()
	if pages, _, _ := a.stats(); pages != archiveEntries {
		t.Errorf("%d pages kept; want %d", pages, archiveEntries)
	}
	if a.get("0", 1) != nil || a.get(fmt.Sprint(archiveEntries+9), 1) == nil {
		t.Error("the oldest page was kept or the newest dropped")
	}
	if a.get(fmt.Sprint(archiveEntries+9), 2) != nil {
		t.Error("a page rendered under another page key was returned")
	}
	a.lmu.Lock()
	for i := range 100 {
		a.put(fmt.Sprint("big", i), 1, mk(archiveBytes/8))
	}
	a.lmu.Unlock()
	if _, bytes, _ := a.stats(); bytes > archiveBytes {
		t.Errorf("%d bytes kept; want at most %d", bytes, archiveBytes)
	}
	a.lmu.Lock()
	a.put("huge", 1, mk(archiveBytes))
	a.lmu.Unlock()
	if a.get("huge", 1) != nil {
		t.Error("a page of a quarter of the bound or more was kept")
	}
}
