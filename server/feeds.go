package server

import (
	"bytes"
	"fmt"
	"html"
	"strings"

	"github.com/gorilla/feeds"
	"github.com/statusd/statusd/data"
)

// feedLimit caps the items in each feed; readers keep what they have seen.
const feedLimit = 50

// feedDocs renders /history.rss and /history.atom: incidents and
// maintenance, newest activity first, each item carrying every update.
func (s *Server) feedDocs(m *model) ([]doc, error) {
	f := &feeds.Feed{
		Title:       m.page.Name + " status",
		Link:        &feeds.Link{Href: m.page.URL + "/"},
		Description: "Incidents and scheduled maintenance for " + m.page.Name,
		Id:          m.page.URL + "/history",
		Updated:     m.updatedAt,
	}
	all := append(append([]data.Incident{}, m.incidents...), m.maintenances...)
	sortByActivity(all)
	for i, in := range all {
		if i == feedLimit {
			break
		}
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
		{path: "/history.rss", kind: kindFeed, contentType: "application/rss+xml; charset=utf-8", body: rss.Bytes()},
		{path: "/history.atom", kind: kindFeed, contentType: "application/atom+xml; charset=utf-8", body: atom.Bytes()},
	}, nil
}
