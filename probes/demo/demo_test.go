package demo

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestShop(t *testing.T) {
	ctx := context.Background()
	srv, err := Listen(ctx, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close(ctx) })
	srv.Shop.Delay = 50 * time.Millisecond
	base := "http://" + srv.Addr()
	get := func(path string) int {
		t.Helper()
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for _, target := range Targets {
		if code := get("/" + target + "/healthz"); code != 200 {
			t.Errorf("%s healthz = %d", target, code)
		}
	}
	// The basket needs what sign-in hands out.
	resp, err := http.Post(base+"/basket/items", "application/json", strings.NewReader(`{"sku":"tent-2p"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("basket without a session = %d", resp.StatusCode)
	}
	if _, err := Control(ctx, base, "login", Failing); err != nil {
		t.Fatal(err)
	}
	if code := get("/login/healthz"); code != http.StatusServiceUnavailable {
		t.Errorf("failing login = %d", code)
	}
	if _, err := Control(ctx, base, "api", Slow); err != nil {
		t.Fatal(err)
	}
	if code := get("/api/v1/status"); code != 200 {
		t.Errorf("slow api = %d", code)
	}
	modes, err := Control(ctx, base, "", "")
	if err != nil || !strings.Contains(strings.Join(modes, "\n"), "api: slow") {
		t.Errorf("modes = %v, %v", modes, err)
	}
	if _, err := Control(ctx, base, "kitchen", Failing); err == nil || !strings.Contains(err.Error(), "unknown target") {
		t.Errorf("unknown target: %v", err)
	}
}
