package server

import (
	"bytes"
	"fmt"
	"net/netip"

	"github.com/gofiber/fiber/v2"
)

// proxySet is the reverse proxies (CDN edges, load balancers) whose word
// on the client's address is believed.
type proxySet []netip.Prefix

// parseProxies reads addresses (10.0.0.1, ::1) and CIDR ranges
// (10.0.0.0/8).
func parseProxies(list []string) (proxySet, error) {
	var out proxySet
	for _, s := range list {
		if p, err := netip.ParsePrefix(s); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(s)
		if err != nil {
			return nil, fmt.Errorf("trusted proxy %q is not an IP address or a CIDR range", s)
		}
		a = a.Unmap()
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}

func (ps proxySet) contains(a netip.Addr) bool {
	a = a.Unmap()
	for _, p := range ps {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// parseHop reads one address of a proxy header: 192.0.2.1, 2001:db8::1,
// and the forms with a port some proxies send (192.0.2.1:4711,
// [2001:db8::1]:4711).
func parseHop(b []byte) (netip.Addr, bool) {
	s := string(bytes.TrimSpace(b))
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Unmap().WithZone(""), true
	}
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap().WithZone(""), true
	}
	return netip.Addr{}, false
}

// clientIP is the address a public request came from, for rate limits.
//
// Without trusted proxies it is the peer's address, whatever headers say:
// anyone can send X-Forwarded-For. From a trusted proxy it is read from
// Options.ProxyHeader right to left, passing over trusted proxies: each
// proxy appends the address it saw, so the rightmost address that is not a
// trusted proxy is the one no client could have written. (fiber's c.IP()
// takes the leftmost, which a client sets simply by sending the header
// itself through a proxy that appends to it; one fake address a request
// would give each request a limit of its own.) An address that cannot be
// read there means the header is not what was expected: the peer's
// address is used. If every address is a trusted proxy, the leftmost is
// the client.
func (s *Server) clientIP(c *fiber.Ctx) string {
	return clientAddr(c, s.proxies, s.opts.ProxyHeader)
}

// clientAddr is clientIP for a set of trusted proxies and their header;
// the admin has its own.
func clientAddr(c *fiber.Ctx, proxies proxySet, headerName string) string {
	peer, _ := netip.AddrFromSlice(c.Context().RemoteIP())
	peer = peer.Unmap()
	if len(proxies) == 0 || headerName == "" || !proxies.contains(peer) {
		return peer.String()
	}
	values := c.Request().Header.PeekAll(headerName)
	client := peer
	for i := len(values) - 1; i >= 0; i-- {
		hops := bytes.Split(values[i], []byte{','})
		for j := len(hops) - 1; j >= 0; j-- {
			a, ok := parseHop(hops[j])
			if !ok {
				return peer.String()
			}
			if !proxies.contains(a) {
				return a.String()
			}
			client = a
		}
	}
	return client.String()
}

// clientIP is the address an admin request came from, for sign-in
// throttling, the audit log and a token's last use: as the public side's
// with the admin's proxy settings. A proxy header without trusted proxies
// (allowed for the admin, as before trusted proxies existed) is believed
// from any peer, but only its rightmost address, the one the proxy in front
// appended: the leftmost is whatever the client sent.
func (a *admin) clientIP(c *fiber.Ctx) string {
	if len(a.proxies) > 0 || a.opts.ProxyHeader == "" {
		return clientAddr(c, a.proxies, a.opts.ProxyHeader)
	}
	values := c.Request().Header.PeekAll(a.opts.ProxyHeader)
	if len(values) > 0 {
		hops := bytes.Split(values[len(values)-1], []byte{','})
		if h, ok := parseHop(hops[len(hops)-1]); ok {
			return h.String()
		}
	}
	peer, _ := netip.AddrFromSlice(c.Context().RemoteIP())
	return peer.Unmap().String()
}

// limitKey is what a per-address limit counts: an IPv4 address, or the /64
// of an IPv6 one, since one client usually holds a whole /64 and could
// otherwise take a fresh address for every request.
func limitKey(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil || !a.Is6() || a.Is4In6() {
		return ip
	}
	p, err := a.Prefix(64)
	if err != nil {
		return ip
	}
	return p.String()
}
