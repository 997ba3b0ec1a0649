package server

import (
	"bytes"
	"fmt"
	"html"
	"strings"
	"time"

	"github.com/gorilla/feeds"

	"github.com/statusd/statusd/data"
)

// feedLimit caps the items in each feed; readers keep what they have seen.
const feedLimit = 50

// feedDocs renders /history.rss and /history.atom, and the feeds of each
// journey and component at /feeds/journey/{id}.rss|.atom and
// /feeds/component/{id}.rss|.atom: incidents and maintenance, newest
// activity first, each item carrying every update. A journey's feed covers
// its components, a group's its children.
//
// A feed changes only when one of its items does: it is keyed by its scope
// and the render keys of its items (memo.go), and its updated time is the
// newest item's, not that of the page (a component's status is not in a
// feed). So a status change re-renders no feed, and an incident update only
// those of the components it touches, their groups and journeys, and
// /history. On a page of thousands of components the rest cost a hash each.
func (s *Server) feedDocs(m *model, prev *snapshot) ([]doc, error) {
	all := append(append([]data.Incident{}, m.incidents...), m.maintenances...)
	sortByActivity(all)
	// The history feed keeps the page's updated time when there is nothing
	// in it, as the page says.
	docs := make([]doc, 0, 2*(1+len(m.snap.Journeys)+len(m.snap.Components)))
	docs, err := s.appendFeeds(docs, m, prev, feedScope{name: m.page.Name, empty: m.updatedAt}, all, seq(min(len(all), feedLimit)))
	if err != nil {
		return nil, err
	}
	journeys, components := scopedItems(m, all)
	for _, j := range m.snap.Journeys {
		// An empty feed is dated by when its journey or component was
		// created: the page's updated time moves with every status change.
		docs, err = s.appendFeeds(docs, m, prev, feedScope{kind: "journey", id: j.ID, name: j.Name, empty: j.CreatedAt}, all, journeys[j.ID])
		if err != nil {
			return nil, err
		}
	}
	for _, c := range m.snap.Components {
		docs, err = s.appendFeeds(docs, m, prev, feedScope{kind: "component", id: c.ID, name: c.Name, empty: c.CreatedAt}, all, components[c.ID])
		if err != nil {
			return nil, err
		}
	}
	return docs, nil
}

// feedScope is what one feed covers: the whole page (kind "") or one
// journey or component.
type feedScope struct {
	kind, id, name string
	empty          time.Time // the feed's updated time when it has no items
}

// scopedItems lists, by journey and by component id, the indexes in all of
// the incidents and maintenance that touch them, at most feedLimit each, in
// the order of all. A group's list has those of its children, a journey's
// those of its components.
func scopedItems(m *model, all []data.Incident) (journeys, components map[string][]int) {
	comps := make(map[string]*data.Component, len(m.snap.Components))
	for i := range m.snap.Components {
		comps[m.snap.Components[i].ID] = &m.snap.Components[i]
	}
	journeys, components = map[string][]int{}, map[string][]int{}
	add := func(lists map[string][]int, id string, i int) {
		l := lists[id]
		// An incident's entries are made together, so one it already has
		// is the last.
		if len(l) >= feedLimit || len(l) > 0 && l[len(l)-1] == i {
			return
		}
		lists[id] = append(l, i)
	}
	for i, in := range all {
		for _, id := range in.ComponentIDs {
			c := comps[id]
			if c == nil {
				continue // no longer on the page
			}
			add(components, id, i)
			if c.GroupID != "" {
				add(components, c.GroupID, i)
			}
			add(journeys, c.JourneyID, i)
		}
	}
	return journeys, components
}

// seq is 0, 1, …, n-1.
func seq(n int) []int {
	l := make([]int, n)
	for i := range l {
		l[i] = i
	}
	return l
}

// appendFeeds appends to docs the RSS and Atom feeds of sc with the
// incidents of all at items: the previous snapshot's when nothing they show
// has changed, else rendered. The key is made of what the feeds show: the
// scope, the page's name and URL, and each item's render key (or the empty
// feed's time).
func (s *Server) appendFeeds(docs []doc, m *model, prev *snapshot, sc feedScope, all []data.Incident, items []int) ([]doc, error) {
	if sc.name == "" {
		return docs, nil // nothing to call it: the snapshot's 404
	}
	k := newKeyHash().str("feed").str(sc.kind).str(sc.id).str(sc.name).str(m.page.Name).str(m.page.URL)
	var updated time.Time
	for _, i := range items {
		k.u64(m.incidentKeys[all[i].ID])
		updated = later(updated, all[i].UpdatedAt)
	}
	if updated.IsZero() {
		updated = sc.empty
		if updated.IsZero() {
			updated = m.updatedAt
		}
		k.time(updated)
	}
	key := k.sum()
	path := "/history"
	if sc.kind != "" {
		path = "/feeds/" + sc.kind + "/" + sc.id
	}
	rssPath, atomPath := path+".rss", path+".atom"
	rssE, atomE := prev.reusable(rssPath, key), prev.reusable(atomPath, key)
	if rssE != nil && atomE != nil {
		return append(docs, doc{path: rssPath, reuse: rssE}, doc{path: atomPath, reuse: atomE}), nil
	}
	f := &feeds.Feed{
		Title:       m.page.Name + " status",
		Link:        &feeds.Link{Href: m.page.URL + "/"},
		Description: "Incidents and scheduled maintenance for " + m.page.Name,
		Id:          m.page.URL + path,
		Updated:     updated,
	}
	var tags []string
	if sc.kind != "" {
		f.Title = sc.name + " · " + m.page.Name + " status"
		f.Description = "Incidents and scheduled maintenance affecting " + sc.name + " on " + m.page.Name
		tags = []string{"feed-" + sc.kind + "-" + sc.id}
	}
	list := make([]data.Incident, len(items))
	for n, i := range items {
		list[n] = all[i]
	}
	// gorilla/feeds gives an Atom feed its link as id, which every scoped
	// feed shares with /history.atom; each gets its own. /history.atom
	// keeps the id it always had.
	atomID := ""
	if sc.kind != "" {
		atomID = f.Id
	}
	rss, atom, err := s.writeFeeds(f, list, atomID)
	if err != nil {
		return nil, err
	}
	// An empty feed is a few hundred bytes, which compression makes about
	// 200 smaller: like badges, the thousands of them on a large page are
	// kept as they are.
	return append(docs,
		doc{path: rssPath, kind: kindFeed, contentType: "application/rss+xml; charset=utf-8", body: rss, key: key, tags: tags,
			identityOnly: len(rss) < smallFeed},
		doc{path: atomPath, kind: kindFeed, contentType: "application/atom+xml; charset=utf-8", body: atom, key: key, tags: tags,
			identityOnly: len(atom) < smallFeed}), nil
}

// smallFeed is the size under which a feed is not precompressed.
const smallFeed = 1024

// writeFeeds adds each incident of list to f as an item with all its
// updates (its id is the incident's URL, stable across updates) and renders
// f in both formats; atomID, when set, is the Atom feed's id.
func (s *Server) writeFeeds(f *feeds.Feed, list []data.Incident, atomID string) (rss, atom []byte, err error) {
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
	af := (&feeds.Atom{Feed: f}).AtomFeed()
	if atomID != "" {
		af.Id = atomID
	}
	if err := feeds.WriteXML(af, &a); err != nil {
		return nil, nil, fmt.Errorf("render atom: %w", err)
	}
	return r.Bytes(), a.Bytes(), nil
}
