package demo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
)

// Targets are the parts of the shop that can be switched.
var Targets = []string{"login", "search", "recommendations", "basket", "checkout", "emails", "api", "webhooks"}

// Modes a target can be in.
const (
	Healthy = "healthy"
	Failing = "failing"
	Slow    = "slow"
)

// SlowDelay is how long a slow target takes to answer.
const SlowDelay = 1500 * time.Millisecond

// Shop is the fake shop's HTTP handler.
type Shop struct {
	mu    sync.Mutex
	modes map[string]string
	// Delay is how long slow targets sleep; SlowDelay if 0.
	Delay time.Duration
}

// New returns a shop with every target healthy.
func New() *Shop {
	s := &Shop{modes: map[string]string{}}
	for _, t := range Targets {
		s.modes[t] = Healthy
	}
	return s
}

// Set switches a target. It fails for an unknown target or mode.
func (s *Shop) Set(target, mode string) error {
	if !slices.Contains(Targets, target) {
		return fmt.Errorf("unknown target %q; use one of %s", target, strings.Join(Targets, ", "))
	}
	switch mode {
	case Healthy, Failing, Slow:
	default:
		return fmt.Errorf("unknown mode %q; use healthy, failing or slow", mode)
	}
	s.mu.Lock()
	s.modes[target] = mode
	s.mu.Unlock()
	return nil
}

// Modes returns every target's mode.
func (s *Shop) Modes() map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]string, len(s.modes))
	for k, v := range s.modes {
		out[k] = v
	}
	return out
}

// Handler serves the shop and its control endpoint:
//
//	GET  /{target}/healthz                          each target
//	POST /api/login                                 login
//	GET  /search?q=…                                search
//	GET  /recommendations                           recommendations
//	POST /basket/items                              basket (needs the session cookie and token from /api/login)
//	POST /checkout/pay                              checkout (ditto)
//	GET  /api/v1/status                             api
//	GET  /_control                                  every target's mode, as JSON
//	POST /_control/{target}/{mode}                  switch a target
func (s *Shop) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/login", s.target("login", func(w http.ResponseWriter, r *http.Request) {
		http.SetCookie(w, &http.Cookie{Name: "session", Value: "demo-session", Path: "/", HttpOnly: true})
		writeJSON(w, http.StatusOK, map[string]any{"token": "demo-token", "user": map[string]any{"name": "Robin"}})
	}))
	mux.HandleFunc("GET /search", s.target("search", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query().Get("q")
		writeJSON(w, http.StatusOK, map[string]any{"query": q, "results": []map[string]any{
			{"sku": "tent-2p", "name": "Two-person tent", "price": 249},
			{"sku": "stove-1", "name": "Camping stove", "price": 59},
		}})
	}))
	mux.HandleFunc("GET /recommendations", s.target("recommendations", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"items": []string{"sleeping-bag", "head-torch"}})
	}))
	mux.HandleFunc("POST /basket/items", s.target("basket", s.session(func(w http.ResponseWriter, r *http.Request) {
		var item struct {
			SKU string `json:"sku"`
		}
		if err := json.NewDecoder(io.LimitReader(r.Body, 1<<16)).Decode(&item); err != nil || item.SKU == "" {
			writeJSON(w, http.StatusBadRequest, map[string]any{"error": "give a sku"})
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"basket": "b-1001", "items": []string{item.SKU}})
	})))
	mux.HandleFunc("POST /checkout/pay", s.target("checkout", s.session(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"paid": true, "order": "o-5521"})
	})))
	mux.HandleFunc("GET /api/v1/status", s.target("api", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"status": "ok", "version": "2026.11"})
	}))
	// A health check per target, for plain HTTP probes.
	for _, t := range Targets {
		mux.HandleFunc("GET /"+t+"/healthz", s.target(t, func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, http.StatusOK, map[string]any{"status": "ok"})
		}))
	}
	mux.HandleFunc("GET /_control", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, s.Modes())
	})
	mux.HandleFunc("POST /_control/{target}/{mode}", func(w http.ResponseWriter, r *http.Request) {
		if err := s.Set(r.PathValue("target"), r.PathValue("mode")); err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]any{"error": err.Error()})
			return
		}
		writeJSON(w, http.StatusOK, s.Modes())
	})
	return mux
}

// target wraps a handler with the target's mode: failing answers 502 (503
// for sign-in), slow waits first.
func (s *Shop) target(name string, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		mode := s.modes[name]
		s.mu.Unlock()
		switch mode {
		case Failing:
			code := http.StatusBadGateway
			if name == "login" {
				code = http.StatusServiceUnavailable
			}
			writeJSON(w, code, map[string]any{"error": name + " is failing (demo)"})
			return
		case Slow:
			d := s.Delay
			if d == 0 {
				d = SlowDelay
			}
			select {
			case <-time.After(d):
			case <-r.Context().Done():
				return
			}
		}
		h(w, r)
	}
}

// session requires the cookie and bearer token /api/login hands out.
func (s *Shop) session(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		c, err := r.Cookie("session")
		if err != nil || c.Value != "demo-session" || r.Header.Get("Authorization") != "Bearer demo-token" {
			writeJSON(w, http.StatusUnauthorized, map[string]any{"error": "sign in first"})
			return
		}
		h(w, r)
	}
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v) // the client went away; nothing to do
}

// Server serves a Shop on a listener until Close.
type Server struct {
	Shop *Shop
	srv  *http.Server
	ln   net.Listener
	done chan error
}

// Listen starts a shop on addr (host:port; port 0 picks one).
func Listen(ctx context.Context, addr string) (*Server, error) {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("demo upstream: listen on %s: %w", addr, err)
	}
	shop := New()
	s := &Server{Shop: shop, ln: ln, done: make(chan error, 1),
		srv: &http.Server{Handler: shop.Handler(), ReadHeaderTimeout: 5 * time.Second, IdleTimeout: time.Minute}}
	go func() { s.done <- s.srv.Serve(ln) }()
	return s, nil
}

// Addr is the address the shop listens on.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Close stops the shop, waiting for requests in flight up to ctx.
func (s *Server) Close(ctx context.Context) error {
	err := s.srv.Shutdown(ctx)
	if serr := <-s.done; serr != nil && !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, serr)
	}
	return err
}

// Control switches a target of the shop at baseURL (http://host:port) over
// its control endpoint and returns every target's mode, in target order.
func Control(ctx context.Context, baseURL, target, mode string) ([]string, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	method, u := http.MethodGet, strings.TrimSuffix(baseURL, "/")+"/_control"
	if target != "" {
		method, u = http.MethodPost, u+"/"+target+"/"+mode
	}
	req, err := http.NewRequestWithContext(ctx, method, u, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("reach the demo upstream at %s: %w", baseURL, err)
	}
	defer resp.Body.Close()
	var body map[string]any
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<16)).Decode(&body); err != nil {
		return nil, fmt.Errorf("read the demo upstream's answer: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%v", body["error"])
	}
	var out []string
	for k, v := range body {
		out = append(out, fmt.Sprintf("%s: %v", k, v))
	}
	sort.Strings(out)
	return out, nil
}
