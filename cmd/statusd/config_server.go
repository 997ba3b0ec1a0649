package main

import (
	"fmt"
	"net/netip"
	"strings"
	"time"
)

// ServerConfig is the HTTP server.
type ServerConfig struct {
	Listen          string
	ReadTimeout     time.Duration
	WriteTimeout    time.Duration
	IdleTimeout     time.Duration
	BodyLimit       int           // bytes
	ShutdownTimeout time.Duration // bound on each step of a shutdown
	// DrainDelay is how long the listeners keep serving after a shutdown
	// begins, with /readyz already answering 503, so that load balancers
	// notice before connections are refused.
	DrainDelay time.Duration
	// OpsListen, when not empty, is a second address serving /metrics,
	// /healthz and /readyz; the public listener then no longer serves
	// /metrics.
	OpsListen string
	// ProxyHeader is where reverse proxies in front (a CDN, a load
	// balancer) put the client's address; it is believed only from
	// TrustedProxies, and both are set or neither.
	ProxyHeader    string
	TrustedProxies []string
}

// DatabaseConfig is the SQLite store.
type DatabaseConfig struct {
	Path string
}

// SnapshotConfig controls how often the page and API are rebuilt.
type SnapshotConfig struct {
	Debounce    time.Duration
	Refresh     time.Duration
	StaleAfter  time.Duration
	HistoryDays int
}

// CacheConfig sets the cache headers of public responses; every value is a
// whole number of seconds.
type CacheConfig struct {
	MaxAge               time.Duration
	StaleWhileRevalidate time.Duration
	StaleIfError         time.Duration
	CDNMaxAge            time.Duration
}

type rawServer struct {
	Listen          *string  `yaml:"listen"`
	ReadTimeout     *string  `yaml:"read_timeout"`
	WriteTimeout    *string  `yaml:"write_timeout"`
	IdleTimeout     *string  `yaml:"idle_timeout"`
	BodyLimit       *int     `yaml:"body_limit"`
	ShutdownTimeout *string  `yaml:"shutdown_timeout"`
	DrainDelay      *string  `yaml:"drain_delay"`
	OpsListen       *string  `yaml:"ops_listen"`
	ProxyHeader     *string  `yaml:"proxy_header"`
	TrustedProxies  []string `yaml:"trusted_proxies"`
}

type rawDatabase struct {
	Path *string `yaml:"path"`
}

type rawSnapshot struct {
	Debounce    *string `yaml:"debounce"`
	Refresh     *string `yaml:"refresh"`
	StaleAfter  *string `yaml:"stale_after"`
	HistoryDays *int    `yaml:"history_days"`
}

type rawCache struct {
	MaxAge               *string `yaml:"max_age"`
	StaleWhileRevalidate *string `yaml:"stale_while_revalidate"`
	StaleIfError         *string `yaml:"stale_if_error"`
	CDNMaxAge            *string `yaml:"cdn_max_age"`
}

func (c *checker) server(file *rawConfig, cfg *Config) {
	raw, s := &file.Server, &cfg.Server
	s.Listen = ":8080"
	if raw.Listen != nil {
		if err := checkHostPort(*raw.Listen, true); err != nil {
			c.add("server.listen", "%q is not a listen address such as :8080 or 127.0.0.1:8080 (%v)", *raw.Listen, err)
		} else {
			s.Listen = *raw.Listen
		}
	}
	positive := func(def time.Duration) durationRange {
		return durationRange{def: def, min: 0, minExclusive: true, max: day}
	}
	s.ReadTimeout = c.duration("server.read_timeout", raw.ReadTimeout, positive(10*time.Second))
	s.WriteTimeout = c.duration("server.write_timeout", raw.WriteTimeout, positive(10*time.Second))
	s.IdleTimeout = c.duration("server.idle_timeout", raw.IdleTimeout, positive(60*time.Second))
	s.ShutdownTimeout = c.duration("server.shutdown_timeout", raw.ShutdownTimeout, positive(15*time.Second))
	s.BodyLimit = c.intRange("server.body_limit", raw.BodyLimit, 1<<20, 1<<10, 64<<20, " bytes (1 KiB to 64 MiB)")
	s.DrainDelay = c.duration("server.drain_delay", raw.DrainDelay, durationRange{def: 5 * time.Second, max: 5 * time.Minute})
	if raw.OpsListen != nil && *raw.OpsListen != "" {
		switch err := checkHostPort(*raw.OpsListen, true); {
		case err != nil:
			c.add("server.ops_listen", "%q is not a listen address such as 127.0.0.1:9090 (%v)", *raw.OpsListen, err)
		case *raw.OpsListen == s.Listen && !strings.HasSuffix(s.Listen, ":0"):
			c.add("server.ops_listen", "%q is also server.listen; operations need an address of their own", *raw.OpsListen)
		default:
			s.OpsListen = *raw.OpsListen
		}
	}
	s.ProxyHeader = c.proxyHeader("server.proxy_header", raw.ProxyHeader)
	s.TrustedProxies = c.trustedProxies("server.trusted_proxies", raw.TrustedProxies)
	// A header believed from anyone would let every client pick its own
	// address, and with it its own rate limit: the two go together.
	switch {
	case s.ProxyHeader != "" && len(raw.TrustedProxies) == 0:
		c.add("server.proxy_header", "is set without server.trusted_proxies, the proxies whose header is believed (from anyone else, clients could set it)")
	case len(raw.TrustedProxies) > 0 && (raw.ProxyHeader == nil || strings.TrimSpace(*raw.ProxyHeader) == ""):
		c.add("server.trusted_proxies", "is set without server.proxy_header, the header those proxies set")
	}
}

// proxyHeader checks the name of a header proxies put the client's address
// in; "" when not set.
func (c *checker) proxyHeader(field string, raw *string) string {
	if raw == nil {
		return ""
	}
	h := strings.TrimSpace(*raw)
	if strings.ContainsFunc(h, func(r rune) bool {
		return !(r == '-' || r >= '0' && r <= '9' || r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z')
	}) {
		c.add(field, "%q is not a header name such as X-Forwarded-For", h)
		return ""
	}
	return h
}

// trustedProxies checks a list of proxy addresses and CIDR ranges.
func (c *checker) trustedProxies(field string, raw []string) []string {
	var out []string
	for i, p := range raw {
		if _, err := netip.ParsePrefix(p); err == nil {
			out = append(out, p)
			continue
		}
		if _, err := netip.ParseAddr(p); err == nil {
			out = append(out, p)
			continue
		}
		c.add(fmt.Sprintf("%s[%d]", field, i), "%q is not an IP address or a CIDR range such as 10.0.0.0/8", p)
	}
	return out
}

func (c *checker) database(file *rawConfig, cfg *Config) {
	cfg.Database.Path = "statusd.db"
	if p := file.Database.Path; p != nil {
		if *p == "" {
			c.add("database.path", "must not be empty")
		} else {
			cfg.Database.Path = *p
		}
	}
}

func (c *checker) snapshot(file *rawConfig, cfg *Config) {
	raw, s := &file.Snapshot, &cfg.Snapshot
	s.Debounce = c.duration("snapshot.debounce", raw.Debounce, durationRange{def: 250 * time.Millisecond, max: 10 * time.Second, example: "250ms, 1s"})
	s.Refresh = c.duration("snapshot.refresh", raw.Refresh, durationRange{def: time.Minute, min: time.Second, max: day})
	s.StaleAfter = c.duration("snapshot.stale_after", raw.StaleAfter, durationRange{def: 5 * time.Minute, min: time.Second, max: 7 * day})
	if raw.StaleAfter != nil && s.StaleAfter <= s.Refresh {
		c.add("snapshot.stale_after", "%s must be longer than snapshot.refresh (%s), or a healthy node would report not ready", formatDuration(s.StaleAfter), formatDuration(s.Refresh))
	}
	s.HistoryDays = c.intRange("snapshot.history_days", raw.HistoryDays, 90, 1, 365, " days")
}

func (c *checker) cache(file *rawConfig, cfg *Config) {
	raw, s := &file.Cache, &cfg.Cache
	r := func(def time.Duration) durationRange {
		return durationRange{def: def, max: 365 * day, seconds: true}
	}
	s.MaxAge = c.duration("cache.max_age", raw.MaxAge, r(30*time.Second))
	s.StaleWhileRevalidate = c.duration("cache.stale_while_revalidate", raw.StaleWhileRevalidate, r(60*time.Second))
	s.StaleIfError = c.duration("cache.stale_if_error", raw.StaleIfError, r(24*time.Hour))
	s.CDNMaxAge = c.duration("cache.cdn_max_age", raw.CDNMaxAge, r(60*time.Second))
}
