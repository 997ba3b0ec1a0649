package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gofiber/fiber/v2"

	"github.com/statusd/statusd/data"
)

func TestErrorHandler(t *testing.T) {
	const secret = "sql: table incidents has no column named /etc/passwd"
	tests := []struct {
		name      string
		err       error
		wantCode  int
		wantMsg   string
		wantField string
		wantLog   bool
	}{
		{"invalid", data.Invalid("status", "%q is not a status", "purple"), 400, `"purple" is not a status`, "status", false},
		{"invalid wrapped", fmt.Errorf("set status: %w", data.Invalid("component", "unknown")), 400, "unknown", "component", false},
		{"not found", fmt.Errorf("incident 7: %w", data.ErrNotFound), 404, "not found", "", false},
		{"conflict", fmt.Errorf("resolve incident: %w", data.ErrConflict), 409, "conflict", "", false},
		{"closed", fmt.Errorf("read: %w", data.ErrClosed), 503, "service unavailable", "", false},
		{"fiber error", fiber.ErrMethodNotAllowed, 405, "method not allowed", "", false},
		{"fiber 5xx", fiber.ErrBadGateway, 502, "bad gateway", "", true},
		{"internal", errors.New(secret), 500, "internal error", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs bytes.Buffer
			log := slog.New(slog.NewTextHandler(&logs, nil))
			app := fiber.New(fiber.Config{DisableStartupMessage: true, ErrorHandler: ErrorHandler(log, nil)})
			fail := func(*fiber.Ctx) error { return tt.err }
			app.Get("/api/thing", fail)
			app.Get("/page", fail)

			// JSON for the API.
			resp, body := errorTestGet(t, app, "/api/thing", "")
			if resp.StatusCode != tt.wantCode {
				t.Errorf("GET /api/thing = %d; want %d", resp.StatusCode, tt.wantCode)
			}
			if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Errorf("GET /api/thing Content-Type = %q; want JSON", ct)
			}
			var got apiError
			if err := json.Unmarshal(body, &got); err != nil {
				t.Fatalf("GET /api/thing body %q: %v", body, err)
			}
			if want := (apiError{Field: tt.wantField, Message: tt.wantMsg}); got != want {
				t.Errorf("GET /api/thing body = %+v; want %+v", got, want)
			}
			if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
				t.Errorf("Cache-Control = %q; want no-store", cc)
			}

			// HTML for pages, unless the client asks for JSON.
			resp, body = errorTestGet(t, app, "/page", "text/html")
			if resp.StatusCode != tt.wantCode {
				t.Errorf("GET /page = %d; want %d", resp.StatusCode, tt.wantCode)
			}
			if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
				t.Errorf("GET /page Content-Type = %q; want HTML", ct)
			}
			for _, want := range []string{"<html lang=\"en\">", "<h1>" + http.StatusText(tt.wantCode) + "</h1>", html.EscapeString(tt.wantMsg)} {
				if !bytes.Contains(body, []byte(want)) {
					t.Errorf("GET /page body lacks %q:\n%s", want, body)
				}
			}
			if resp.Header.Get("Content-Security-Policy") == "" {
				t.Error("GET /page has no Content-Security-Policy")
			}
			resp, _ = errorTestGet(t, app, "/page", "application/json")
			if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Errorf("GET /page with Accept: application/json Content-Type = %q; want JSON", ct)
			}

			if logged := strings.Contains(logs.String(), "request failed"); logged != tt.wantLog {
				t.Errorf("logged = %v; want %v (log: %s)", logged, tt.wantLog, logs.String())
			}
			if tt.wantLog && !strings.Contains(logs.String(), "path=/api/thing") {
				t.Errorf("log lacks the path: %s", logs.String())
			}
		})
	}

	t.Run("internals stay in the log", func(t *testing.T) {
		app := fiber.New(fiber.Config{DisableStartupMessage: true, ErrorHandler: ErrorHandler(nil, nil)})
		app.Get("/x", func(*fiber.Ctx) error { return errors.New(secret) })
		for _, accept := range []string{"", "application/json", "text/html"} {
			_, body := errorTestGet(t, app, "/x", accept)
			if bytes.Contains(body, []byte("passwd")) || bytes.Contains(body, []byte("sql")) {
				t.Errorf("GET /x (Accept %q) leaks the error: %s", accept, body)
			}
		}
	})

	t.Run("custom page", func(t *testing.T) {
		page := func(_ *fiber.Ctx, e HTTPError) ([]byte, error) {
			if e.Code == 409 {
				return nil, errors.New("template broken")
			}
			return fmt.Appendf(nil, "<p>custom %d %s</p>", e.Code, e.Message), nil
		}
		app := fiber.New(fiber.Config{DisableStartupMessage: true, ErrorHandler: ErrorHandler(nil, page)})
		app.Get("/404", func(*fiber.Ctx) error { return data.ErrNotFound })
		app.Get("/409", func(*fiber.Ctx) error { return data.ErrConflict })
		if _, body := errorTestGet(t, app, "/404", "text/html"); string(body) != "<p>custom 404 not found</p>" {
			t.Errorf("GET /404 = %q; want the custom page", body)
		}
		if resp, body := errorTestGet(t, app, "/409", "text/html"); resp.StatusCode != 409 || !bytes.Contains(body, []byte("<h1>Conflict</h1>")) {
			t.Errorf("GET /409 = %d %q; want the built-in page when the custom one fails", resp.StatusCode, body)
		}
	})
}

func errorTestGet(t *testing.T, app *fiber.App, path, accept string) (*http.Response, []byte) {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, path, nil)
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	resp, err := app.Test(req, -1)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}
