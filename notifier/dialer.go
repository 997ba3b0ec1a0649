package notifier

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"syscall"
	"time"
)

// ErrForbiddenAddress is returned (wrapped) when a webhook would reach an
// address that is not on the public internet: loopback, private, link-local,
// CGNAT, multicast, unspecified, documentation and benchmark ranges, IPv4
// embedded in IPv6 (mapped, NAT64, 6to4, Teredo) that is itself forbidden, and
// cloud metadata services.
var ErrForbiddenAddress = errors.New("address is not a public internet address")

// forbidden lists the ranges a webhook may never reach unless the operator
// allows them. IPv4-mapped addresses are unmapped before the check, so the
// IPv4 ranges cover them too.
var forbidden = mustPrefixes(
	// IPv4 (RFC 6890 special-purpose registry and friends)
	"0.0.0.0/8",        // "this network", includes the unspecified address
	"10.0.0.0/8",       // private
	"100.64.0.0/10",    // carrier-grade NAT (also Alibaba's metadata 100.100.100.200)
	"127.0.0.0/8",      // loopback
	"169.254.0.0/16",   // link-local (AWS, GCP, Azure metadata 169.254.169.254, ECS 169.254.170.2)
	"172.16.0.0/12",    // private
	"192.0.0.0/24",     // IETF protocol assignments (Oracle metadata 192.0.0.192)
	"192.0.2.0/24",     // TEST-NET-1
	"192.88.99.0/24",   // 6to4 relay anycast
	"192.168.0.0/16",   // private
	"198.18.0.0/15",    // benchmarking
	"198.51.100.0/24",  // TEST-NET-2
	"203.0.113.0/24",   // TEST-NET-3
	"224.0.0.0/4",      // multicast
	"240.0.0.0/4",      // reserved, includes broadcast 255.255.255.255
	"168.63.129.16/32", // Azure wire server (a public address used as metadata service)
	"::/128",           // unspecified
	"::1/128",          // loopback
	"::/96",            // IPv4-compatible (deprecated)
	"64:ff9b::/96",     // NAT64 well-known prefix
	"64:ff9b:1::/48",   // NAT64 local-use prefix
	"100::/64",         // discard-only
	"2001::/23",        // IETF protocol assignments, includes Teredo 2001::/32
	"2001:db8::/32",    // documentation
	"fc00::/7",         // unique local (AWS metadata fd00:ec2::254)
	"fe80::/10",        // link-local
	"fec0::/10",        // site-local (deprecated)
	"ff00::/8",         // multicast
)

var sixToFour = netip.MustParsePrefix("2002::/16")

func mustPrefixes(ss ...string) []netip.Prefix {
	out := make([]netip.Prefix, len(ss))
	for i, s := range ss {
		out[i] = netip.MustParsePrefix(s)
	}
	return out
}

// metadataHosts are names that cloud providers resolve to their instance
// metadata service; they are refused by name, before any lookup.
var metadataHosts = map[string]bool{
	"metadata":                   true,
	"metadata.google.internal":   true,
	"metadata.goog":              true,
	"instance-data":              true,
	"instance-data.ec2.internal": true,
	"metadata.azure.internal":    true,
	"localhost":                  true,
}

// Allowlist holds the address ranges an operator allows webhooks to reach
// even though they are not public (an internal chat server, a test
// receiver). The zero value allows nothing extra.
type Allowlist struct {
	prefixes []netip.Prefix
}

// ParseAllowlist reads CIDR prefixes ("10.1.0.0/16") and single addresses
// ("192.168.1.5", "::1"). Returns an error naming the first bad entry.
func ParseAllowlist(entries []string) (Allowlist, error) {
	var a Allowlist
	for _, e := range entries {
		e = strings.TrimSpace(e)
		if p, err := netip.ParsePrefix(e); err == nil {
			a.prefixes = append(a.prefixes, p.Masked())
			continue
		}
		ip, err := netip.ParseAddr(e)
		if err != nil || ip.Zone() != "" {
			return Allowlist{}, fmt.Errorf("webhook allowlist entry %q is not an address or CIDR prefix", e)
		}
		a.prefixes = append(a.prefixes, netip.PrefixFrom(ip.Unmap(), ip.Unmap().BitLen()))
	}
	return a, nil
}

// Allows reports whether ip is on the allowlist.
func (a Allowlist) Allows(ip netip.Addr) bool {
	ip = ip.Unmap()
	for _, p := range a.prefixes {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// Empty reports whether the allowlist allows nothing extra.
func (a Allowlist) Empty() bool { return len(a.prefixes) == 0 }

// CheckAddr returns nil if ip is a public unicast address or on the
// allowlist, and an error wrapping ErrForbiddenAddress otherwise.
func (a Allowlist) CheckAddr(ip netip.Addr) error {
	if !ip.IsValid() {
		return fmt.Errorf("invalid address: %w", ErrForbiddenAddress)
	}
	if ip.Zone() != "" {
		return fmt.Errorf("%s has a zone: %w", ip, ErrForbiddenAddress)
	}
	if a.Allows(ip) {
		return nil
	}
	u := ip.Unmap()
	if sixToFour.Contains(u) {
		// 6to4 carries an IPv4 address in bits 16-48; judge that one.
		b := u.As16()
		v4 := netip.AddrFrom4([4]byte{b[2], b[3], b[4], b[5]})
		if err := a.CheckAddr(v4); err != nil {
			return fmt.Errorf("%s embeds %s: %w", ip, v4, ErrForbiddenAddress)
		}
		return nil
	}
	for _, p := range forbidden {
		if p.Contains(u) {
			return fmt.Errorf("%s is in %s: %w", ip, p, ErrForbiddenAddress)
		}
	}
	// Belt and braces for ranges the table might miss.
	if u.IsLoopback() || u.IsPrivate() || u.IsLinkLocalUnicast() || u.IsLinkLocalMulticast() ||
		u.IsMulticast() || u.IsUnspecified() || u.IsInterfaceLocalMulticast() || !u.IsGlobalUnicast() {
		return fmt.Errorf("%s is not a global unicast address: %w", ip, ErrForbiddenAddress)
	}
	return nil
}

// Control is a net.Dialer Control function that refuses to connect to a
// forbidden address. It runs after name resolution, on the address actually
// being connected to, so a name that resolves to a public address when it is
// registered and to 127.0.0.1 later (DNS rebinding) is still refused.
func (a Allowlist) Control(network, address string, _ syscall.RawConn) error {
	switch network {
	case "tcp", "tcp4", "tcp6":
	default:
		return fmt.Errorf("network %s: %w", network, ErrForbiddenAddress)
	}
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("parse dial address %q: %w", address, ErrForbiddenAddress)
	}
	return a.CheckAddr(ap.Addr())
}

// Dialer returns a net.Dialer whose every connection is checked by Control.
// resolver may be nil for the default.
func (a Allowlist) Dialer(timeout time.Duration, resolver *net.Resolver) *net.Dialer {
	return &net.Dialer{
		Timeout:   timeout,
		KeepAlive: 30 * time.Second,
		Resolver:  resolver,
		Control:   a.Control,
	}
}

// Resolver looks up a host's addresses; *net.Resolver satisfies it.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

var _ Resolver = (*net.Resolver)(nil)
