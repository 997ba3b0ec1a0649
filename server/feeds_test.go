package server

import (
	"bytes"
	"context"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/andybalholm/brotli"

	"github.com/statusd/statusd/data"
)

// rssFeed is what the tests read of an RSS feed.
type rssFeed struct {
	Channel struct {
		Title string `xml:"title"`
		Items []struct {
			Title string `xml:"title"`
			Link  string `xml:"link"`
		} `xml:"item"`
	} `xml:"channel"`
}

// atomFeed is what the tests read of an Atom feed.
type atomFeed struct {
	ID      string `xml:"id"`
	Title   string `xml:"title"`
	Updated string `xml:"updated"`
	Entries []struct {
		ID string `xml:"id"`
	} `xml:"entry"`
}

func parseFeed[T any](t *testing.T, path string, b []byte) T {
	t.Helper()
	var f T
	if err := xml.Unmarshal(b, &f); err != nil {
		t.Fatalf("%s: %v\n%.300s", path, err, b)
	}
	return f
}

// referenceFeedLinks lists the item links of a journey's or component's
// feed the simple way, as they were made on request before: every incident
// and maintenance that names a component of the journey, or the component
// or one of its children, newest activity first, at most feedLimit.
func referenceFeedLinks(m *model, kind, id string) []string {
	match := map[string]bool{}
	for _, c := range m.snap.Components {
		if kind == "journey" && c.JourneyID == id || kind == "component" && (c.ID == id || c.GroupID == id) {
			match[c.ID] = true
		}
	}
	var list []data.Incident
	for _, in := range append(append([]data.Incident{}, m.incidents...), m.maintenances...) {
		if slices.ContainsFunc(in.ComponentIDs, func(c string) bool { return match[c] }) {
			list = append(list, in)
		}
	}
	sortByActivity(list)
	var links []string
	for _, in := range firstN(list, feedLimit) {
		links = append(links, m.page.URL+"/incidents/"+in.ID)
	}
	return links
}

// checkScopedFeeds compares every journey's and component's feeds in the
// snapshot with referenceFeedLinks, and returns how many items each has.
func checkScopedFeeds(t *testing.T, srv *Server) map[string]int {
	t.Helper()
	sn := srv.snap.Load()
	m := sn.model
	counts := map[string]int{}
	check := func(kind, id, name string) {
		path := "/feeds/" + kind + "/" + id
		rssE, atomE := sn.entries[path+".rss"], sn.entries[path+".atom"]
		if rssE == nil || atomE == nil {
			t.Errorf("%s: missing from the snapshot", path)
			return
		}
		rss := parseFeed[rssFeed](t, path+".rss", rssE.plain)
		atom := parseFeed[atomFeed](t, path+".atom", atomE.plain)
		var got []string
		for _, it := range rss.Channel.Items {
			got = append(got, it.Link)
		}
		want := referenceFeedLinks(m, kind, id)
		if !slices.Equal(got, want) {
			t.Errorf("%s.rss items = %q; want %q", path, got, want)
		}
		if len(atom.Entries) != len(want) {
			t.Errorf("%s.atom has %d entries; want %d", path, len(atom.Entries), len(want))
		}
		wantTitle := name + " · " + m.page.Name + " status"
		if rss.Channel.Title != wantTitle || atom.Title != wantTitle || atom.Updated == "" {
			t.Errorf("%s: title %q / %q, updated %q; want title %q and a time", path, rss.Channel.Title, atom.Title, atom.Updated, wantTitle)
		}
		if want := m.page.URL + path; atom.ID != want {
			t.Errorf("%s.atom has id %q; want its own, %q", path, atom.ID, want)
		}
		counts[kind+"/"+id] = len(got)
	}
	for _, j := range m.snap.Journeys {
		check("journey", j.ID, j.Name)
	}
	for _, c := range m.snap.Components {
		check("component", c.ID, c.Name)
	}
	return counts
}

// TestScopedFeedItems checks what each journey's and component's feed
// lists: on the fixture (groups, incidents on several components of one
// journey or group, maintenance) and with more incidents than a feed holds.
func TestScopedFeedItems(t *testing.T) {
	t.Run("fixture", func(t *testing.T) {
		srv, _ := newFixtureServer(t)
		counts := checkScopedFeeds(t, srv)
		// The sign-in incident names auth-api and sso-google: once in its
		// journey's feed and in idp's (sso-google's group).
		for scope, want := range map[string]int{"journey/sign-in": 2, "component/idp": 2, "component/sso-google": 1,
			"component/auth-api": 1, "journey/checkout": 4, "component/rest": 0} {
			if counts[scope] != want {
				t.Errorf("%s has %d items; want %d", scope, counts[scope], want)
			}
		}
	})
	t.Run("limit", func(t *testing.T) {
		st := catalogStore(t, 2, 2)
		ctx := context.Background()
		for i := range feedLimit + 5 {
			if _, err := st.CreateIncident(ctx, data.NewIncident{Name: fmt.Sprintf("Incident %d", i), Body: "x", Actor: "t",
				Components: map[string]data.ComponentStatus{"j000-c001": data.DegradedPerformance}}); err != nil {
				t.Fatal(err)
			}
		}
		srv, err := New(st, Options{Page: Page{ID: "big", Name: "Big", URL: "https://status.big.example"}})
		if err != nil {
			t.Fatal(err)
		}
		counts := checkScopedFeeds(t, srv)
		for scope, want := range map[string]int{"component/j000-c001": feedLimit, "journey/j000": feedLimit,
			"component/j000-c000": 0, "journey/j001": 0} {
			if counts[scope] != want {
				t.Errorf("%s has %d items; want %d", scope, counts[scope], want)
			}
		}
	})
}

// TestScopedFeedsRenderOnChange checks that the feeds are rendered at the
// rebuild that changes what they show, and only then: a status change
// keeps every feed's entry, an incident re-renders the feeds of its
// component, that component's group and its journey, and no other.
func TestScopedFeedsRenderOnChange(t *testing.T) {
	ctx := context.Background()
	srv, st := newFixtureServer(t)
	rebuild := func() (before, after *snapshot) {
		t.Helper()
		before = srv.snap.Load()
		if err := srv.Rebuild(ctx); err != nil {
			t.Fatal(err)
		}
		return before, srv.snap.Load()
	}
	isFeed := func(p string) bool { return strings.HasPrefix(p, "/feeds/") || strings.HasPrefix(p, "/history.") }

	if _, err := st.SetComponentStatus(ctx, data.SetStatus{ComponentID: "sso-google", Status: data.MajorOutage, Actor: "t"}); err != nil {
		t.Fatal(err)
	}
	before, after := rebuild()
	n := 0
	for p, e := range before.entries {
		if !isFeed(p) {
			continue
		}
		n++
		if a := after.entries[p]; a != e {
			t.Errorf("after a status change, %s was rendered again (ETag %s, was %s)", p, a.etag, e.etag)
		}
	}
	if want := 2 * (1 + len(before.model.snap.Journeys) + len(before.model.snap.Components)); n != want {
		t.Errorf("%d feeds in the snapshot; want %d", n, want)
	}

	// An incident on sso-google, a child of idp in the sign-in journey.
	in, err := st.CreateIncident(ctx, data.NewIncident{Name: "Google sign-in errors", Body: "x", Actor: "t",
		Components: map[string]data.ComponentStatus{"sso-google": data.PartialOutage}})
	if err != nil {
		t.Fatal(err)
	}
	touched := map[string]bool{}
	for _, s := range []string{"/feeds/component/sso-google", "/feeds/component/idp", "/feeds/journey/sign-in", "/history"} {
		touched[s+".rss"], touched[s+".atom"] = true, true
	}
	for range 2 { // the incident, then an update to it
		before, after = rebuild()
		for p, e := range before.entries {
			if !isFeed(p) {
				continue
			}
			a := after.entries[p]
			if changed := a != e; changed != touched[p] {
				t.Errorf("after an incident on sso-google, %s changed: %v; want %v", p, changed, touched[p])
			}
			if shows := bytes.Contains(a.plain, []byte("/incidents/"+in.ID)); shows != touched[p] {
				t.Errorf("after an incident on sso-google, %s shows it: %v; want %v", p, shows, touched[p])
			}
		}
		if _, err := st.AddUpdate(ctx, in.ID, data.NewUpdate{Status: data.Identified, Body: "Found it.", Actor: "t"}); err != nil {
			t.Fatal(err)
		}
	}
	checkScopedFeeds(t, srv)
}

// TestScopedFeedsHTTP checks that the feeds are served as every other
// public document: headers, HEAD, encodings, conditional requests (still
// valid after a rebuild that did not change the feed), and the snapshot's
// 404 for unknown and hostile ids.
func TestScopedFeedsHTTP(t *testing.T) {
	ctx := context.Background()
	srv, st := newFixtureServer(t)
	base := listen(t, srv)
	const feed = "/feeds/component/payments.rss"

	resp, plain := get(t, "GET", base+feed, nil)
	etag := resp.Header.Get("ETag")
	if resp.StatusCode != 200 || !bytes.Contains(plain, []byte("Checkout payments failing")) || etag == "" {
		t.Fatalf("GET %s = %d, ETag %q\n%.300s", feed, resp.StatusCode, etag, plain)
	}
	for k, want := range map[string]string{
		"Content-Type":                "application/rss+xml; charset=utf-8",
		"Cache-Control":               "public, max-age=30, stale-while-revalidate=60, stale-if-error=86400",
		"Access-Control-Allow-Origin": "*",
		"Surrogate-Key":               "statusd feed-component-payments feeds",
		"Vary":                        "Accept-Encoding",
	} {
		if got := resp.Header.Get(k); got != want {
			t.Errorf("%s = %q; want %q", k, got, want)
		}
	}
	if resp, _ := get(t, "GET", base+"/feeds/journey/checkout.atom", nil); resp.StatusCode != 200 ||
		resp.Header.Get("Content-Type") != "application/atom+xml; charset=utf-8" {
		t.Errorf("GET the checkout journey's Atom feed = %d, %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}

	t.Run("HEAD", func(t *testing.T) {
		resp, body := get(t, "HEAD", base+feed, nil)
		if resp.StatusCode != 200 || len(body) != 0 || resp.Header.Get("ETag") != etag || resp.ContentLength != int64(len(plain)) {
			t.Errorf("HEAD = %d, %d bytes, ETag %q, length %d; want 200, none, %q, %d", resp.StatusCode, len(body),
				resp.Header.Get("ETag"), resp.ContentLength, etag, len(plain))
		}
	})
	t.Run("brotli", func(t *testing.T) {
		resp, body := get(t, "GET", base+feed, map[string]string{"Accept-Encoding": "br"})
		dec, err := io.ReadAll(brotli.NewReader(bytes.NewReader(body)))
		if resp.Header.Get("Content-Encoding") != "br" || err != nil || !bytes.Equal(dec, plain) {
			t.Fatalf("Accept-Encoding br: Content-Encoding %q, decoded equal: %v (%v)", resp.Header.Get("Content-Encoding"), bytes.Equal(dec, plain), err)
		}
		r2, _ := get(t, "GET", base+feed, map[string]string{"Accept-Encoding": "br", "If-None-Match": resp.Header.Get("ETag")})
		if r2.StatusCode != 304 {
			t.Errorf("If-None-Match with the brotli ETag = %d; want 304", r2.StatusCode)
		}
	})
	t.Run("conditional", func(t *testing.T) {
		resp, body := get(t, "GET", base+feed, map[string]string{"If-None-Match": etag})
		if resp.StatusCode != 304 || len(body) != 0 || resp.Header.Get("Cache-Control") == "" {
			t.Errorf("If-None-Match = %d, %d bytes, Cache-Control %q; want 304, none, set", resp.StatusCode, len(body), resp.Header.Get("Cache-Control"))
		}
		if resp, _ := get(t, "GET", base+feed, map[string]string{"If-Modified-Since": resp.Header.Get("Last-Modified")}); resp.StatusCode != 304 {
			t.Errorf("If-Modified-Since = %d; want 304", resp.StatusCode)
		}
		// A status change is not in the feed: the reader's copy stays current.
		if _, err := st.SetComponentStatus(ctx, data.SetStatus{ComponentID: "payments", Status: data.MajorOutage, Actor: "t"}); err != nil {
			t.Fatal(err)
		}
		if err := srv.Rebuild(ctx); err != nil {
			t.Fatal(err)
		}
		if resp, _ := get(t, "GET", base+feed, map[string]string{"If-None-Match": etag}); resp.StatusCode != 304 {
			t.Errorf("after a status change, If-None-Match = %d; want 304", resp.StatusCode)
		}
		// An incident is.
		if _, err := st.CreateIncident(ctx, data.NewIncident{Name: "Payments slow", Body: "x", Actor: "t",
			Components: map[string]data.ComponentStatus{"payments": data.DegradedPerformance}}); err != nil {
			t.Fatal(err)
		}
		if err := srv.Rebuild(ctx); err != nil {
			t.Fatal(err)
		}
		resp, body = get(t, "GET", base+feed, map[string]string{"If-None-Match": etag})
		if resp.StatusCode != 200 || !bytes.Contains(body, []byte("Payments slow")) || resp.Header.Get("ETag") == etag {
			t.Errorf("after an incident, If-None-Match = %d, ETag %q; want 200 with the incident and a new ETag", resp.StatusCode, resp.Header.Get("ETag"))
		}
	})
	t.Run("not found", func(t *testing.T) {
		for _, p := range []string{
			"/feeds/component/nope.rss",
			"/feeds/journey/payments.rss",   // a component, not a journey
			"/feeds/component/checkout.rss", // a journey, not a component
			"/feeds/component/payments.xml",
			"/feeds/component/payments",
			"/feeds/component/payments.rss.rss",
			"/feeds/component/PAYMENTS.rss",
			"/feeds/x/payments.rss",
			"/feeds/component/%3Cscript%3Ex%3C%2Fscript%3E.rss",
			"/feeds/component/%00.rss",
			"/feeds/component/pay%0Aments.rss",
			"/feeds/component/" + strings.Repeat("a", 4000) + ".rss",
			"/feeds/component/.rss",
			"/feeds/component/",
			"/feeds/",
		} {
			resp, body := get(t, "GET", base+p, nil)
			if resp.StatusCode != 404 || resp.Header.Get("Content-Type") != "text/html; charset=utf-8" ||
				bytes.Contains(body, []byte("<script>x")) {
				t.Errorf("GET %.60s = %d, %q; want the snapshot's HTML 404", p, resp.StatusCode, resp.Header.Get("Content-Type"))
			}
		}
		if resp, _ := get(t, "POST", base+feed, nil); resp.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("POST %s = %d; want 405", feed, resp.StatusCode)
		}
	})
}
