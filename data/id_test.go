package data_test

import (
	"regexp"
	"testing"

	"github.com/statusd/statusd/data"
)

var idShape = regexp.MustCompile(`^[a-z0-9]{12}$`)

func TestNewID(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		id := data.NewID()
		if !idShape.MatchString(id) {
			t.Fatalf("NewID() = %q; want 12 lower-case letters and digits", id)
		}
		if seen[id] {
			t.Fatalf("NewID() repeated %q", id)
		}
		seen[id] = true
	}
}

// TestDeriveID pins derived ids: a page id derived from the page's name is
// published in the Statuspage API, so it must never change.
func TestDeriveID(t *testing.T) {
	for seed, want := range map[string]string{
		"Acme":           "tdaa7ibpiuuz",
		"Example status": "i1fl9g8keabd",
		"":               "l6q4ia2uk92u",
	} {
		if got := data.DeriveID(seed); got != want {
			t.Errorf("DeriveID(%q) = %q; want %q", seed, got, want)
		}
		if err := data.ValidateID("id", data.DeriveID(seed)); err != nil {
			t.Errorf("DeriveID(%q) is not a valid id: %v", seed, err)
		}
	}
}
