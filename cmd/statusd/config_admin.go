package main

import (
	"strings"
	"time"

	"github.com/statusd/statusd/data"
	"github.com/statusd/statusd/server"
)

// AdminConfig is the admin UI (/admin/) and API (/api/admin/), served on the
// public listener by a separate app.
type AdminConfig struct {
	Enabled        bool          // false leaves /admin and /api/admin out entirely
	Listen         string        // an address of its own; "" serves it on server.listen
	SessionIdle    time.Duration // a session ends after this long without a request
	SessionMax     time.Duration // and this long after sign-in in any case
	ProxyHeader    string        // where a reverse proxy puts the client address; server.proxy_header if not set
	TrustedProxies []string      // peers whose proxy headers are believed; server.trusted_proxies if not set
}

type rawAdmin struct {
	Enabled        *bool    `yaml:"enabled"`
	Listen         *string  `yaml:"listen"`
	SessionIdle    *string  `yaml:"session_idle"`
	SessionMax     *string  `yaml:"session_max"`
	ProxyHeader    *string  `yaml:"proxy_header"`
	TrustedProxies []string `yaml:"trusted_proxies"`
}

func (c *checker) admin(file *rawConfig, cfg *Config) {
	raw, a := &file.Admin, &cfg.Admin
	a.Enabled = raw.Enabled == nil || *raw.Enabled
	if raw.Listen != nil && *raw.Listen != "" {
		switch l := *raw.Listen; {
		case checkHostPort(l, true) != nil:
			c.add("admin.listen", "%q is not a listen address such as 127.0.0.1:8081 (%v)", l, checkHostPort(l, true))
		case (l == cfg.Server.Listen || l == cfg.Server.OpsListen) && !strings.HasSuffix(l, ":0"):
			c.add("admin.listen", "%q is already server.listen or server.ops_listen; the admin needs an address of its own", l)
		default:
			a.Listen = l
		}
	}
	a.SessionIdle = c.duration("admin.session_idle", raw.SessionIdle,
		durationRange{def: time.Hour, min: time.Minute, max: day, example: "30m, 2h"})
	a.SessionMax = c.duration("admin.session_max", raw.SessionMax,
		durationRange{def: 12 * time.Hour, min: time.Minute, max: 30 * day, example: "12h, 7d"})
	if a.SessionMax < a.SessionIdle {
		c.add("admin.session_max", "%s is shorter than admin.session_idle (%s)", a.SessionMax, a.SessionIdle)
	}
	// The admin's own keys win; without them it stands behind the same
	// proxies as the page (server.proxy_header, server.trusted_proxies).
	a.ProxyHeader = c.proxyHeader("admin.proxy_header", raw.ProxyHeader)
	if raw.ProxyHeader == nil {
		a.ProxyHeader = cfg.Server.ProxyHeader
	}
	a.TrustedProxies = c.trustedProxies("admin.trusted_proxies", raw.TrustedProxies)
	if raw.TrustedProxies == nil {
		a.TrustedProxies = cfg.Server.TrustedProxies
	}
	if len(raw.TrustedProxies) > 0 && raw.ProxyHeader == nil && cfg.Server.ProxyHeader == "" {
		c.add("admin.trusted_proxies", "is set without admin.proxy_header (or server.proxy_header), the header those proxies set")
	}
}

// adminOptions are the server's admin options from the configuration; no
// store (no admin app) when the admin is disabled.
func adminOptions(a AdminConfig, store *data.Store) server.AdminOptions {
	o := server.AdminOptions{SessionIdle: a.SessionIdle, SessionMax: a.SessionMax, ProxyHeader: a.ProxyHeader,
		TrustedProxies: a.TrustedProxies, Separate: a.Listen != ""}
	if a.Enabled {
		o.Store = store
	}
	return o
}

// AdminAddr is the address of the admin listener; "" without one.
func (m *Main) AdminAddr() string {
	if m.admin == nil || m.admin.ln == nil {
		return ""
	}
	return m.admin.ln.Addr().String()
}
