package server

import (
	"bytes"
	"fmt"
	"html"
	"strings"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gorilla/feeds"

	"github.com/statusd/statusd/data"
)

// feedLimit caps the items in each feed; readers keep what they have seen.
const feedLimit = 50

// feedDocs renders /history.rss and /history.atom: incidents and
// maintenance, newest activity first, each item carrying every update. The
// feeds change only when one of their items does: their updated time is
// the newest item's, not that of the page (a component's status is not in
// a feed), so a status change does not re-render them.
func (s *Server) feedDocs(m *model, prev *snapshot) ([]doc, error) {
	all := append(append([]data.Incident{}, m.incidents...), m.maintenances...)
	sortByActivity(all)
	all = firstN(all, feedLimit)
	k := newKeyHash().str("feed").str(m.page.Name).str(m.page.URL)
	var updated time.Time
	for _, in := range all {
		k.u64(m.incidentKeys[in.ID])
		updated = later(updated, in.UpdatedAt)
	}
	if updated.IsZero() {
		updated = m.updatedAt
		k.time(updated)
	}
	key := k.sum()
	rssE, atomE := prev.reusable("/history.rss", key), prev.reusable("/history.atom", key)
	if rssE != nil && atomE != nil {
		return []doc{{path: "/history.rss", reuse: rssE}, {path: "/history.atom", reuse: atomE}}, nil
	}
	f := &feeds.Feed{
		Title:       m.page.Name + " status",
		Link:        &feeds.Link{Href: m.page.URL + "/"},
		Description: "Incidents and scheduled maintenance for " + m.page.Name,
		Id:          m.page.URL + "/history",
		Updated:     updated,
	}
	rss, atom, err := s.writeFeeds(f, all)
	if err != nil {
		return nil, err
	}
	return []doc{
		{path: "/history.rss", kind: kindFeed, contentType: "application/rss+xml; charset=utf-8", body: rss, key: key},
		{path: "/history.atom", kind: kindFeed, contentType: "application/atom+xml; charset=utf-8", body: atom, key: key},
	}, nil
}

// writeFeeds adds each incident of list to f as an item with all its
// updates (its id is the incident's URL, stable across updates) and renders
// f in both formats.
func (s *Server) writeFeeds(f *feeds.Feed, list []data.Incident) (rss, atom []byte, err error) {
	for _, in := range list {
		link := f.Link.Href + "incidents/" + in.ID
		var text, content strings.Builder
		for _, u := range in.Updates {
			at := s.timeView(u.DisplayAt).Text
			fmt.Fprintf(&text, "%s (%s): %s\n\n", u.Status.Label(), at, u.Body)
			fmt.Fprintf(&content, "<p><strong>%s</strong> <small>%s</small><br>%s</p>\n", html.EscapeString(u.Status.Label()),
				html.EscapeString(at), strings.ReplaceAll(html.EscapeString(u.Body), "\n", "<br>"))
		}
		title := in.Name
		if in.Kind == data.KindMaintenance {
			title = "Maintenance: " + in.Name
		}
		f.Add(&feeds.Item{
			Title:       fmt.Sprintf("%s [%s]", title, in.Status.Label()),
			Link:        &feeds.Link{Href: link},
			Id:          link,
			Description: strings.TrimSpace(text.String()),
			Content:     content.String(),
			Created:     in.CreatedAt,
			Updated:     in.UpdatedAt,
		})
	}
	var r, a bytes.Buffer
	if err := f.WriteRss(&r); err != nil {
		return nil, nil, fmt.Errorf("render rss: %w", err)
	}
	if err := f.WriteAtom(&a); err != nil {
		return nil, nil, fmt.Errorf("render atom: %w", err)
	}
	return r.Bytes(), a.Bytes(), nil
}

// feedCache holds the per-journey and per-component feeds rendered from one
// model. They are rendered on their first request after a change rather than
// at every rebuild, because a page with thousands of components would
// otherwise render thousands of feeds nobody reads; after that, requests
// copy prebuilt bytes like every other public document.
type feedCache struct {
	m       *model
	mu      sync.Mutex
	entries map[string]*entry
}

// serveFeed answers /feeds/journey/{id}.rss|.atom and
// /feeds/component/{id}.rss|.atom: the incidents and maintenance affecting
// one journey, or one component (a group: any of its components).
func (s *Server) serveFeed(c *fiber.Ctx) error {
	m := s.currentModel()
	if m == nil {
		return s.servePublic(c)
	}
	kind, file := c.Params("kind"), c.Params("file")
	id, format, ok := strings.Cut(file, ".")
	if !ok || (format != "rss" && format != "atom") || (kind != "journey" && kind != "component") || data.ValidateID("id", id) != nil {
		return s.servePublic(c) // the snapshot's 404
	}
	fc := s.subsFeedCache(m)
	key := kind + "/" + id + "." + format
	fc.mu.Lock()
	e, ok := fc.entries[key]
	if !ok {
		var err error
		e, err = s.buildFeedEntry(m, kind, id, format)
		if err != nil {
			fc.mu.Unlock()
			return err
		}
		fc.entries[key] = e // nil for an unknown id: remembered too
	}
	fc.mu.Unlock()
	if e == nil {
		return s.servePublic(c)
	}
	writeEntry(c, e)
	return nil
}

// currentModel is the model of the last rebuild (kept by subscribeDocs).
func (s *Server) currentModel() *model { return s.subs.model.Load() }

func (s *Server) subsFeedCache(m *model) *feedCache {
	for {
		cur := s.subs.feedCache.Load()
		if cur != nil && cur.m == m {
			return cur
		}
		next := &feedCache{m: m, entries: map[string]*entry{}}
		if s.subs.feedCache.CompareAndSwap(cur, next) {
			return next
		}
	}
}

func (s *Server) buildFeedEntry(m *model, kind, id, format string) (*entry, error) {
	var name string
	match := map[string]bool{}
	switch kind {
	case "journey":
		for _, j := range m.snap.Journeys {
			if j.ID == id {
				name = j.Name
			}
		}
		for _, c := range m.snap.Components {
			if c.JourneyID == id {
				match[c.ID] = true
			}
		}
	case "component":
		name = m.names[id]
		match[id] = true
		for _, ch := range m.children[id] {
			match[ch] = true
		}
	}
	if name == "" {
		return nil, nil
	}
	var list []data.Incident
	for _, group := range [][]data.Incident{m.incidents, m.maintenances} {
		for _, in := range group {
			for _, c := range in.ComponentIDs {
				if match[c] {
					list = append(list, in)
					break
				}
			}
		}
	}
	sortByActivity(list)
	list = firstN(list, feedLimit)
	var updated time.Time
	for _, in := range list {
		updated = later(updated, in.UpdatedAt)
	}
	if updated.IsZero() {
		updated = m.updatedAt
	}
	f := &feeds.Feed{
		Title:       name + " · " + m.page.Name + " status",
		Link:        &feeds.Link{Href: m.page.URL + "/"},
		Description: "Incidents and scheduled maintenance affecting " + name + " on " + m.page.Name,
		Id:          m.page.URL + "/feeds/" + kind + "/" + id,
		Updated:     updated,
	}
	rss, atom, err := s.writeFeeds(f, list)
	if err != nil {
		return nil, err
	}
	d := doc{path: "/feeds/" + kind + "/" + id + ".rss", kind: kindFeed, contentType: "application/rss+xml; charset=utf-8", body: rss,
		tags: []string{"feed-" + kind + "-" + id}}
	if format == "atom" {
		d.path, d.contentType, d.body = "/feeds/"+kind+"/"+id+".atom", "application/atom+xml; charset=utf-8", atom
	}
	return s.makeEntry(d, nil, s.opts.Now()), nil
}
