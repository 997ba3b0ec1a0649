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
	path, code := databasePath("migrate", *dbPath, *configPath, stderr, getenv)
	if code != 0 {
		return code
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

// databasePath is the database a command works on: --db (or STATUSD_DB), or
// else the configuration file's database.path. A non-zero code is the exit
// code after a message on stderr.
func databasePath(cmd, dbFlag, configPath string, stderr io.Writer, getenv func(string) string) (string, int) {
	if dbFlag != "" {
		return dbFlag, 0
	}
	if _, err := os.Stat(configPath); err != nil {
		fmt.Fprintf(stderr, "%s: give --db PATH, or --config FILE naming database.path\n", cmd)
		return "", 2
	}
	cfg, err := LoadConfig(configPath, getenv)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return "", 1
	}
	return cfg.Database.Path, 0
}
