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
	for _, in := range all {
		link := m.page.URL + "/incidents/" + in.ID
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
	var rss, atom bytes.Buffer
	if err := f.WriteRss(&rss); err != nil {
		return nil, fmt.Errorf("render rss: %w", err)
	}
	if err := f.WriteAtom(&atom); err != nil {
		return nil, fmt.Errorf("render atom: %w", err)
	}
	return []doc{
		{path: "/history.rss", kind: kindFeed, contentType: "application/rss+xml; charset=utf-8", body: rss.Bytes(), key: key},
		{path: "/history.atom", kind: kindFeed, contentType: "application/atom+xml; charset=utf-8", body: atom.Bytes(), key: key},
	}, nil
}
