package data

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"strings"
)

// SyncResult says what SyncCatalog changed, by id.
type SyncResult struct {
	Added, Updated, Archived, Restored []string
}

// Changed reports whether the sync changed anything.
func (r SyncResult) Changed() bool {
	return len(r.Added)+len(r.Updated)+len(r.Archived)+len(r.Restored) > 0
}

type catalogRow struct {
	journeyID, groupID, name, description string
	position                              int
	isGroup, showcase, onlyDegraded       bool
	archived                              bool
}

// SyncCatalog makes the store's journeys and components match c, in one
// transaction. It is idempotent: syncing the same catalog twice changes
// nothing the second time. A journey or component missing from c is archived,
// never deleted, so its history stays; one that comes back is restored. A new
// component starts operational, recorded in its status history.
func (s *Store) SyncCatalog(ctx context.Context, c Catalog, actor string) (SyncResult, error) {
	var res SyncResult
	if err := c.Validate(); err != nil {
		return res, err
	}
	err := s.write(ctx, "sync catalog", func(tx *sql.Tx) error {
		now := ms(s.Now())
		journeys := map[string]catalogRow{}
		rows, err := tx.QueryContext(ctx, "SELECT id, name, description, position, archived_at IS NOT NULL FROM journeys")
		if err != nil {
			return err
		}
		for rows.Next() {
			var id string
			var r catalogRow
			if err := rows.Scan(&id, &r.name, &r.description, &r.position, &r.archived); err != nil {
				rows.Close()
				return err
			}
			journeys[id] = r
		}
		if err := rows.Close(); err != nil {
			return err
		}
		comps := map[string]catalogRow{}
		rows, err = tx.QueryContext(ctx, `SELECT id, journey_id, COALESCE(group_id, ''), is_group, name, description, position,
			showcase, only_show_if_degraded, archived_at IS NOT NULL FROM components`)
		if err != nil {
			return err
		}
		for rows.Next() {
			var id string
			var r catalogRow
			if err := rows.Scan(&id, &r.journeyID, &r.groupID, &r.isGroup, &r.name, &r.description, &r.position,
				&r.showcase, &r.onlyDegraded, &r.archived); err != nil {
				rows.Close()
				return err
			}
			comps[id] = r
		}
		if err := rows.Close(); err != nil {
			return err
		}

		seenJ := map[string]bool{}
		seenC := map[string]bool{}
		for jpos, j := range c.Journeys {
			seenJ[j.ID] = true
			want := catalogRow{name: j.Name, description: j.Description, position: jpos}
			old, ok := journeys[j.ID]
			switch {
			case !ok:
				if _, err := tx.ExecContext(ctx, "INSERT INTO journeys(id, name, description, position, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)",
					j.ID, j.Name, j.Description, jpos, now, now); err != nil {
					return fmt.Errorf("add journey %s: %w", j.ID, err)
				}
				res.Added = append(res.Added, "journey:"+j.ID)
			case old.archived || old.name != want.name || old.description != want.description || old.position != want.position:
				if _, err := tx.ExecContext(ctx, "UPDATE journeys SET name = ?, description = ?, position = ?, updated_at = ?, archived_at = NULL WHERE id = ?",
					j.Name, j.Description, jpos, now, j.ID); err != nil {
					return fmt.Errorf("update journey %s: %w", j.ID, err)
				}
				if old.archived {
					res.Restored = append(res.Restored, "journey:"+j.ID)
				} else {
					res.Updated = append(res.Updated, "journey:"+j.ID)
				}
			}
			pos := 0
			var put func(cc CatalogComponent, groupID string) error
			put = func(cc CatalogComponent, groupID string) error {
				seenC[cc.ID] = true
				want := catalogRow{journeyID: j.ID, groupID: groupID, isGroup: len(cc.Children) > 0, name: cc.Name,
					description: cc.Description, position: pos, showcase: cc.Showcase, onlyDegraded: cc.OnlyShowIfDegraded}
				pos++
				old, ok := comps[cc.ID]
				switch {
				case !ok:
					if _, err := tx.ExecContext(ctx, `INSERT INTO components(id, journey_id, group_id, is_group, name, description, position,
						showcase, only_show_if_degraded, status, created_at, updated_at) VALUES (?, ?, NULLIF(?, ''), ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
						cc.ID, j.ID, groupID, want.isGroup, cc.Name, cc.Description, want.position, cc.Showcase, cc.OnlyShowIfDegraded,
						Operational, now, now); err != nil {
						return fmt.Errorf("add component %s: %w", cc.ID, err)
					}
					if _, err := tx.ExecContext(ctx, `INSERT INTO component_status_history(component_id, old_status, new_status, source, actor, reason, created_at)
						VALUES (?, '', ?, 'config', ?, 'added to the configuration', ?)`, cc.ID, Operational, actor, now); err != nil {
						return fmt.Errorf("add component %s: %w", cc.ID, err)
					}
					res.Added = append(res.Added, "component:"+cc.ID)
				case old != want:
					if _, err := tx.ExecContext(ctx, `UPDATE components SET journey_id = ?, group_id = NULLIF(?, ''), is_group = ?, name = ?,
						description = ?, position = ?, showcase = ?, only_show_if_degraded = ?, updated_at = ?, archived_at = NULL WHERE id = ?`,
						j.ID, groupID, want.isGroup, cc.Name, cc.Description, want.position, cc.Showcase, cc.OnlyShowIfDegraded, now, cc.ID); err != nil {
						return fmt.Errorf("update component %s: %w", cc.ID, err)
					}
					if old.archived {
						res.Restored = append(res.Restored, "component:"+cc.ID)
					} else {
						res.Updated = append(res.Updated, "component:"+cc.ID)
					}
				}
				for _, ch := range cc.Children {
					if err := put(ch, cc.ID); err != nil {
						return err
					}
				}
				return nil
			}
			for _, cc := range j.Components {
				if err := put(cc, ""); err != nil {
					return err
				}
			}
		}
		for id, r := range comps {
			if !seenC[id] && !r.archived {
				// A child keeps its group_id so that history reads as it was.
				if _, err := tx.ExecContext(ctx, "UPDATE components SET archived_at = ?, updated_at = ? WHERE id = ?", now, now, id); err != nil {
					return fmt.Errorf("archive component %s: %w", id, err)
				}
				res.Archived = append(res.Archived, "component:"+id)
			}
		}
		for id, r := range journeys {
			if !seenJ[id] && !r.archived {
				if _, err := tx.ExecContext(ctx, "UPDATE journeys SET archived_at = ?, updated_at = ? WHERE id = ?", now, now, id); err != nil {
					return fmt.Errorf("archive journey %s: %w", id, err)
				}
				res.Archived = append(res.Archived, "journey:"+id)
			}
		}
		if !res.Changed() {
			return nil
		}
		for _, l := range [][]string{res.Added, res.Updated, res.Archived, res.Restored} {
			sort.Strings(l)
		}
		detail := fmt.Sprintf("added %s; updated %s; archived %s; restored %s",
			list(res.Added), list(res.Updated), list(res.Archived), list(res.Restored))
		if err := s.audit(ctx, tx, actor, "catalog.sync", "catalog", detail); err != nil {
			return err
		}
		return s.event(ctx, tx, EventCatalogSynced, "catalog", &CatalogSynced{Added: res.Added, Updated: res.Updated,
			Archived: res.Archived, Restored: res.Restored})
	})
	return res, err
}

func list(ids []string) string {
	if len(ids) == 0 {
		return "none"
	}
	return strings.Join(ids, ", ")
}
