package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/statusd/statusd/data"
)

// runSetStatus sets or clears a person's override of one component's status
// from the command line, with the same history, audit and outbox records as
// any other change. A running statusd on the same database shows it within a
// second.
func runSetStatus(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	fs := flag.NewFlagSet("set-status", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", envOr(getenv, "STATUSD_CONFIG", "config.yaml"), "configuration `file` (STATUSD_CONFIG)")
	dbPath := fs.String("db", getenv("STATUSD_DB"), "SQLite database `path` (STATUSD_DB)")
	reason := fs.String("reason", "", "why, recorded in the status history")
	actor := fs.String("actor", envOr(getenv, "USER", "cli"), "who, recorded in the status history and audit log")
	clear := fs.Bool("clear", false, "remove the override; the component falls back to its other inputs")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: statusd set-status [--config FILE | --db PATH] [--reason TEXT] [--actor NAME] COMPONENT STATUS")
		fmt.Fprintln(stderr, "       statusd set-status --clear [--config FILE | --db PATH] COMPONENT")
		fmt.Fprintln(stderr, "STATUS is operational, degraded_performance, partial_outage, major_outage or under_maintenance.")
		fmt.Fprintln(stderr, "The override wins over incidents, maintenance and probes until it is cleared.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	want := 2
	if *clear {
		want = 1
	}
	if fs.NArg() != want {
		fs.Usage()
		return 2
	}
	var status data.ComponentStatus
	if !*clear {
		var err error
		if status, err = data.ParseComponentStatus(fs.Arg(1)); err != nil {
			fmt.Fprintf(stderr, "set-status: %v\n", err)
			return 2
		}
	}
	path, code := databasePath("set-status", *dbPath, *configPath, stderr, getenv)
	if code != 0 {
		return code
	}
	if _, err := os.Stat(path); err != nil {
		fmt.Fprintf(stderr, "set-status: database %s: %v (start statusd serve once to create it)\n", path, err)
		return 1
	}
	s, err := data.Open(ctx, path)
	if err != nil {
		fmt.Fprintf(stderr, "set-status: %v\n", err)
		return 1
	}
	defer s.Close()
	var changed bool
	if *clear {
		changed, err = s.ClearInput(ctx, fs.Arg(0), data.SourceOverride, "", *actor, *reason)
	} else {
		changed, err = s.SetComponentStatus(ctx, data.SetStatus{ComponentID: fs.Arg(0), Status: status, Actor: *actor, Reason: *reason})
	}
	var inv *data.InvalidError
	switch {
	case errors.Is(err, data.ErrNotFound):
		fmt.Fprintf(stderr, "set-status: no component %q in %s\n", fs.Arg(0), path)
		return 1
	case errors.As(err, &inv):
		fmt.Fprintf(stderr, "set-status: %v\n", err)
		return 2
	case err != nil:
		fmt.Fprintf(stderr, "set-status: %v\n", err)
		return 1
	}
	ins, err := s.Inputs(ctx, fs.Arg(0))
	if err != nil {
		fmt.Fprintf(stderr, "set-status: %v\n", err)
		return 1
	}
	now, by := data.Resolve(ins)
	why := "no reported problem"
	switch {
	case by.Source != "" && by.Reason != "":
		why = fmt.Sprintf("%s: %s", by.Source, by.Reason)
	case by.Source != "":
		why = string(by.Source)
	}
	verb := "stays"
	if changed {
		verb = "is now"
	}
	fmt.Fprintf(stdout, "%s %s %s (%s)\n", fs.Arg(0), verb, now, why)
	return 0
}
