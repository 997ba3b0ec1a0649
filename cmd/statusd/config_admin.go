package main

import (
	"fmt"
	"net/netip"
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
	ProxyHeader    string        // where a reverse proxy puts the client address
	TrustedProxies []string      // peers whose proxy headers are believed
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
	if raw.ProxyHeader != nil {
		switch h := strings.TrimSpace(*raw.ProxyHeader); {
		case h == "":
		case strings.ContainsFunc(h, func(r rune) bool {
			return !(r == '-' || r >= '0' && r <= '9' || r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z')
		}):
			c.add("admin.proxy_header", "%q is not a header name such as X-Forwarded-For", h)
		default:
			a.ProxyHeader = h
		}
	}
	for i, p := range raw.TrustedProxies {
		if _, err := netip.ParsePrefix(p); err == nil {
			a.TrustedProxies = append(a.TrustedProxies, p)
			continue
		}
		if _, err := netip.ParseAddr(p); err == nil {
			a.TrustedProxies = append(a.TrustedProxies, p)
			continue
		}
		c.add(fmt.Sprintf("admin.trusted_proxies[%d]", i), "%q is not an IP address or a CIDR range such as 10.0.0.0/8", p)
	}
	if len(raw.TrustedProxies) > 0 && raw.ProxyHeader == nil {
		c.add("admin.trusted_proxies", "is set without admin.proxy_header, the header those proxies set")
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
