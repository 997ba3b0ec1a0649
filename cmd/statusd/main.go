// Command statusd runs the statusd status page service.
//
// Usage:
//
//	statusd serve --config FILE [--listen ADDR] [--db PATH]
//	statusd check-config --config FILE
//	statusd migrate [--config FILE] [--db PATH]
//	statusd set-status [--config FILE] [--db PATH] COMPONENT STATUS
//	statusd healthcheck [--url URL]
//	statusd user add|list|disable|enable|role|passwd ...
//	statusd demo-upstream [--listen ADDR] | set TARGET MODE | show
//	statusd version
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

func main() {
	// Only main touches signals: the first SIGINT or SIGTERM cancels ctx and
	// starts a graceful shutdown; a second one kills the process as usual.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		<-ctx.Done()
		stop() // from now on the signals' default action applies again
	}()
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(code)
}

const usage = `statusd: a public status page and customer communications service

Usage:
  statusd serve --config FILE [--listen ADDR] [--db PATH]   run the service
  statusd check-config --config FILE                         validate a configuration file
  statusd migrate [--config FILE] [--db PATH]                apply database migrations
  statusd set-status [--reason TEXT] COMPONENT STATUS         change a component's status
  statusd healthcheck [--url URL]                            exit 0 if a running statusd is healthy
  statusd user add|list|disable|enable|role|passwd ...       manage admin accounts (statusd user help)
  statusd demo-upstream [--listen ADDR] | set TARGET MODE    a fake shop for the example's probes
  statusd version                                            print the version

Environment: STATUSD_CONFIG, STATUSD_LISTEN, STATUSD_OPS_LISTEN, STATUSD_DB,
STATUSD_LOG_LEVEL, STATUSD_SMTP_PASSWORD, STATUSD_REDIS_PASSWORD.
`

// run dispatches a subcommand and returns the process exit code: 0 for
// success, 1 for failure, 2 for misuse.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "serve":
		return runServe(ctx, args[1:], stdout, stderr, getenv)
	case "check-config":
		return runCheckConfig(args[1:], stdout, stderr, getenv)
	case "migrate":
		return runMigrate(ctx, args[1:], stdout, stderr, getenv)
	case "set-status":
		return runSetStatus(ctx, args[1:], stdout, stderr, getenv)
	case "healthcheck":
		return runHealthcheck(ctx, args[1:], stdout, stderr)
	case "user":
		return runUser(ctx, args[1:], os.Stdin, stdout, stderr, getenv)
	case "demo-upstream":
		return runDemoUpstream(ctx, args[1:], stdout, stderr)
	case "version", "--version":
		fmt.Fprintf(stdout, "statusd %s\n", version)
		return 0
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "statusd: unknown command %q\n\n%s", args[0], usage)
	return 2
}
