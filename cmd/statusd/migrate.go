package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/statusd/statusd/data"
)

// runMigrate applies pending migrations to the database named by --db,
// STATUSD_DB or, failing those, the configuration file's database.path.
func runMigrate(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", envOr(getenv, "STATUSD_CONFIG", "config.yaml"), "configuration `file` (STATUSD_CONFIG)")
	dbPath := fs.String("db", getenv("STATUSD_DB"), "SQLite database `path` (STATUSD_DB)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	path := *dbPath
	if path == "" {
		if _, err := os.Stat(*configPath); err != nil {
			fmt.Fprintf(stderr, "migrate: give --db PATH, or --config FILE naming database.path\n")
			return 2
		}
		cfg, err := LoadConfig(*configPath, getenv)
		if err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
		path = cfg.Database.Path
	}
	s, err := data.Open(ctx, path)
	if err != nil {
		fmt.Fprintf(stderr, "migrate: %v\n", err)
		return 1
	}
	defer s.Close()
	applied, err := s.Migrate(ctx)
	if err != nil {
		fmt.Fprintf(stderr, "migrate: %v\n", err)
		return 1
	}
	all, err := s.Migrations(ctx)
	if err != nil {
		fmt.Fprintf(stderr, "migrate: %v\n", err)
		return 1
	}
	if len(applied) == 0 {
		fmt.Fprintf(stdout, "%s: up to date (%d migrations)\n", path, len(all))
	} else {
		fmt.Fprintf(stdout, "%s: applied %s (%d migrations)\n", path, strings.Join(applied, ", "), len(all))
	}
	return 0
}
