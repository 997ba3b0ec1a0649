package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
)

// runCheckConfig is "statusd check-config [--config FILE]": it loads the
// configuration and prints "FILE: ok (…)" to stdout and returns 0, or prints
// every problem as "file:line: reason" to stderr and returns 1. Flag misuse
// returns 2. The file defaults to $STATUSD_CONFIG, then config.yaml.
func runCheckConfig(args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	fs := flag.NewFlagSet("check-config", flag.ContinueOnError)
	fs.SetOutput(stderr)
	def := "config.yaml"
	if v := getenv("STATUSD_CONFIG"); v != "" {
		def = v
	}
	path := fs.String("config", def, "configuration `file` (also $STATUSD_CONFIG)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: statusd check-config [--config FILE]")
		fmt.Fprintln(stderr, "\nChecks the configuration file and reports every problem as file:line: reason.")
		fmt.Fprintln(stderr)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "check-config: unexpected argument %q\n", fs.Arg(0))
		fs.Usage()
		return 2
	}
	cfg, err := LoadConfig(*path, getenv)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	fmt.Fprintf(stdout, "%s: ok (%s, %s, %s)\n", *path,
		plural(len(cfg.Journeys), "journey"), plural(cfg.componentCount(), "component"), plural(len(cfg.Probes), "probe"))
	return 0
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
