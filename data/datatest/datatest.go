// Package datatest opens real, migrated SQLite stores for tests.
package datatest

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/statusd/statusd/data"
)

// MustOpen opens a migrated store on a new file in t.TempDir() and closes it
// when the test ends.
func MustOpen(tb testing.TB) *data.Store {
	tb.Helper()
	s, err := data.Open(context.Background(), filepath.Join(tb.TempDir(), "statusd.db"))
	if err != nil {
		tb.Fatalf("open store: %v", err)
	}
	tb.Cleanup(func() { _ = s.Close() }) // a test may have closed it already
	if _, err := s.Migrate(context.Background()); err != nil {
		tb.Fatalf("migrate store: %v", err)
	}
	return s
}
