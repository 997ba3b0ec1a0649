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
	peer, _ := netip.AddrFromSlice(c.Context().RemoteIP())
	peer = peer.Unmap()
	if len(s.proxies) == 0 || s.opts.ProxyHeader == "" || !s.proxies.contains(peer) {
		return peer.String()
	}
	values := c.Request().Header.PeekAll(s.opts.ProxyHeader)
	client := peer
	for i := len(values) - 1; i >= 0; i-- {
		hops := bytes.Split(values[i], []byte{','})
		for j := len(hops) - 1; j >= 0; j-- {
			a, ok := parseHop(hops[j])
			if !ok {
				return peer.String()
			}
			if !s.proxies.contains(a) {
				return a.String()
			}
			client = a
		}
	}
	return client.String()
}
