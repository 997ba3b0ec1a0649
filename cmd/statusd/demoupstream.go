package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	"github.com/statusd/statusd/probes/demo"
)

const demoUsage = `Usage:
  statusd demo-upstream [--listen ADDR]                 serve the demo shop (default 127.0.0.1:8081)
  statusd demo-upstream set [--url URL] TARGET MODE     switch a target: healthy, failing or slow
  statusd demo-upstream show [--url URL]                print every target's mode

Targets: ` + "login, search, recommendations, basket, checkout, emails, api, webhooks" + `
`

// runDemoUpstream serves the demo shop the example configuration probes, or
// switches one of its targets.
func runDemoUpstream(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && (args[0] == "set" || args[0] == "show") {
		return runDemoControl(ctx, args[0], args[1:], stdout, stderr)
	}
	fs := flag.NewFlagSet("demo-upstream", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, demoUsage) }
	listen := fs.String("listen", "127.0.0.1:8081", "listen `address`")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "demo-upstream: unexpected argument %q\n\n%s", fs.Arg(0), demoUsage)
		return 2
	}
	srv, err := demo.Listen(ctx, *listen)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	fmt.Fprintf(stdout, "demo shop on http://%s (switch it with: statusd demo-upstream set checkout failing)\n", srv.Addr())
	<-ctx.Done()
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Close(sctx); err != nil {
		fmt.Fprintf(stderr, "demo-upstream: %v\n", err)
		return 1
	}
	return 0
}

func runDemoControl(ctx context.Context, cmd string, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("demo-upstream "+cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, demoUsage) }
	url := fs.String("url", "http://127.0.0.1:8081", "the demo shop's base `URL`")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	var target, mode string
	switch {
	case cmd == "set" && fs.NArg() == 2:
		target, mode = fs.Arg(0), fs.Arg(1)
	case cmd == "show" && fs.NArg() == 0:
	default:
		fmt.Fprint(stderr, demoUsage)
		return 2
	}
	if _, _, err := net.SplitHostPort(strings.TrimPrefix(strings.TrimPrefix(*url, "http://"), "https://")); err != nil {
		fmt.Fprintf(stderr, "demo-upstream: --url %q: want http://host:port\n", *url)
		return 2
	}
	modes, err := demo.Control(ctx, *url, target, mode)
	if err != nil {
		fmt.Fprintf(stderr, "demo-upstream: %v\n", err)
		return 1
	}
	fmt.Fprintln(stdout, strings.Join(modes, "\n"))
	return 0
}
