package server

import (
	"bytes"
	"encoding/json"
	"flag"
	"io"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var assetHash = regexp.MustCompile(`/assets/(style|app)\.[0-9a-f]{10}\.(css|js)`)

var update = flag.Bool("update", false, "rewrite golden files")

// golden compares got with testdata/golden/name, or writes it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden file: %v (run go test ./server -run TestGolden -update and review the diff)", err)
	}
	if !bytes.Equal(got, want) {
		gl, wl := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
		for i := 0; i < len(gl) || i < len(wl); i++ {
			var g, w string
			if i < len(gl) {
				g = gl[i]
			}
			if i < len(wl) {
				w = wl[i]
			}
			if g != w {
				t.Fatalf("%s differs from its golden file at line %d:\n got: %q\nwant: %q\n(if the change is intended, rerun with -update and review the diff)", name, i+1, g, w)
			}
		}
	}
}

// goldenPaths are every public document of the fixture, with its golden name.
var goldenPaths = []struct{ path, name string }{
	{"/", "index.html"},
	{"/history", "history.html"},
	{"/incidents/fx0000000001", "incident-resolved.html"},
	{"/incidents/fx0000000024", "incident-open.html"},
	{"/incidents/fx0000000010", "maintenance-completed.html"},
	{"/nope", "404.html"},
	{"/api/v2/summary.json", "summary.json"},
	{"/api/v2/status.json", "status.json"},
	{"/api/v2/components.json", "components.json"},
	{"/api/v2/incidents.json", "incidents.json"},
	{"/api/v2/incidents/unresolved.json", "incidents-unresolved.json"},
	{"/api/v2/scheduled-maintenances.json", "scheduled-maintenances.json"},
	{"/api/v2/scheduled-maintenances/upcoming.json", "scheduled-maintenances-upcoming.json"},
	{"/api/v2/scheduled-maintenances/active.json", "scheduled-maintenances-active.json"},
	{"/api/v2/journeys.json", "journeys.json"},
	{"/history.rss", "history.rss"},
	{"/history.atom", "history.atom"},
}

// TestGolden renders every public document of the fixture store and
// compares it with its golden file. JSON is indented first so diffs read
// well.
func TestGolden(t *testing.T) {
	srv, _ := newFixtureServer(t)
	for _, g := range goldenPaths {
		t.Run(g.name, func(t *testing.T) {
			resp, err := srv.App().Test(httptest.NewRequest("GET", g.path, nil), -1)
			if err != nil {
				t.Fatal(err)
			}
			body, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatal(err)
			}
			if strings.HasSuffix(g.name, ".json") {
				var buf bytes.Buffer
				if err := json.Indent(&buf, body, "", "  "); err != nil {
					t.Fatalf("%s is not JSON: %v", g.path, err)
				}
				buf.WriteByte('\n')
				body = buf.Bytes()
			}
			// Asset names carry a hash of their content; a stylesheet change
			// must not rewrite every golden page.
			body = assetHash.ReplaceAll(body, []byte("/assets/$1.HASH.$2"))
			golden(t, g.name, body)
		})
	}
}
