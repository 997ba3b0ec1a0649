package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/statusd/statusd/probes/demo"
)

func TestDemoUpstreamControl(t *testing.T) {
	ctx := context.Background()
	srv, err := demo.Listen(ctx, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close(ctx) })
	url := "http://" + srv.Addr()
	var out, errb bytes.Buffer
	if code := run(ctx, []string{"demo-upstream", "set", "--url", url, "checkout", "failing"}, &out, &errb, noEnv); code != 0 {
		t.Fatalf("set = %d: %s", code, errb.String())
	}
	if !strings.Contains(out.String(), "checkout: failing") || srv.Shop.Modes()["checkout"] != demo.Failing {
		t.Errorf("set printed %q; modes %v", out.String(), srv.Shop.Modes())
	}
	errb.Reset()
	if code := run(ctx, []string{"demo-upstream", "set", "--url", url, "checkout", "sideways"}, &out, &errb, noEnv); code != 1 ||
		!strings.Contains(errb.String(), `unknown mode "sideways"`) {
		t.Errorf("bad mode = %d, %q", code, errb.String())
	}
	if code := run(ctx, []string{"demo-upstream", "set", "checkout"}, &out, &errb, noEnv); code != 2 {
		t.Errorf("set with one argument = %d; want 2", code)
	}
	out.Reset()
	if code := run(ctx, []string{"demo-upstream", "show", "--url", url}, &out, &errb, noEnv); code != 0 || !strings.Contains(out.String(), "login: healthy") {
		t.Errorf("show = %d, %q", code, out.String())
	}
}

func noEnv(string) string { return "" }
