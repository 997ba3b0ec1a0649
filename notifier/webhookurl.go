package notifier

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/statusd/statusd/data"
)

// maxURLLength bounds a webhook URL; longer ones are refused.
const maxURLLength = 2048

var (
	hostLabel = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)
	// numericLabel matches the pieces of the IPv4 notations that inet_aton
	// accepts besides dotted decimal: 2130706433, 0x7f000001, 0177.0.0.1,
	// 127.1. A host made only of such labels is refused outright, whatever
	// it would resolve to, because resolvers disagree about what it means.
	numericLabel = regexp.MustCompile(`^(0x[0-9a-f]*|[0-9]+)$`)
)

// ValidateURL checks a webhook URL given at registration and returns it
// normalised. It refuses anything but absolute http and https URLs, URLs with
// credentials or fragments, hosts written as IP addresses in anything but the
// canonical notation, names of metadata services, and hosts that resolve to an
// address CheckAddr forbids (every resolved address must pass). Errors are
// *data.InvalidError for field "webhook_url".
//
// The check at registration tells the user early; the dialer's Control checks
// again at every connection, which is what actually stops DNS rebinding.
func (a Allowlist) ValidateURL(ctx context.Context, r Resolver, raw string) (string, error) {
	bad := func(format string, args ...any) (string, error) {
		return "", data.Invalid("webhook_url", format, args...)
	}
	if raw == "" {
		return bad("is required")
	}
	if len(raw) > maxURLLength {
		return bad("is longer than %d bytes", maxURLLength)
	}
	if !utf8.ValidString(raw) {
		return bad("must be valid UTF-8")
	}
	for _, c := range raw {
		if c <= ' ' || c == 0x7f || c > 0x7e {
			return bad("must not contain spaces, control or non-ASCII characters (use the punycode form of an international domain)")
		}
	}
	u, err := url.Parse(raw)
	if err != nil {
		return bad("is not a URL")
	}
	scheme := strings.ToLower(u.Scheme)
	if scheme != "http" && scheme != "https" {
		return bad("must start with https:// or http://")
	}
	if u.Opaque != "" || u.Host == "" {
		return bad("must be an absolute URL with a host")
	}
	if u.User != nil {
		return bad("must not contain a user name or password")
	}
	if u.Fragment != "" || strings.Contains(raw, "#") {
		return bad("must not contain a fragment (#…)")
	}
	host := strings.ToLower(u.Hostname())
	if port := u.Port(); port != "" {
		n, err := strconv.Atoi(port)
		if err != nil || n < 1 || n > 65535 || strings.HasPrefix(port, "0") {
			return bad("has an invalid port")
		}
	} else if strings.HasSuffix(u.Host, ":") {
		return bad("has an empty port")
	}
	host = strings.TrimSuffix(host, ".")
	if host == "" {
		return bad("must have a host")
	}
	var addrs []netip.Addr
	if strings.HasPrefix(u.Host, "[") {
		ip, err := netip.ParseAddr(host)
		if err != nil || !ip.Is6() || ip.Zone() != "" {
			return bad("has an invalid IPv6 address")
		}
		addrs = []netip.Addr{ip}
	} else if ip, err := netip.ParseAddr(host); err == nil {
		if !ip.Is4() {
			return bad("has an invalid host")
		}
		addrs = []netip.Addr{ip}
	} else {
		if err := checkHostName(host); err != nil {
			return "", err
		}
		if r == nil {
			r = net.DefaultResolver
		}
		lctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		addrs, err = r.LookupNetIP(lctx, "ip", host)
		if err != nil || len(addrs) == 0 {
			var dnsErr *net.DNSError
			if errors.As(err, &dnsErr) && dnsErr.IsNotFound {
				return bad("host %q does not exist", host)
			}
			return bad("host %q could not be resolved", host)
		}
	}
	for _, ip := range addrs {
		if err := a.CheckAddr(ip); err != nil {
			return bad("points to an address that is not on the public internet")
		}
	}
	u.Scheme = scheme
	if p := u.Port(); p != "" {
		if strings.Contains(host, ":") {
			u.Host = "[" + host + "]:" + p
		} else {
			u.Host = host + ":" + p
		}
	} else if strings.Contains(host, ":") {
		u.Host = "[" + host + "]"
	} else {
		u.Host = host
	}
	u.RawFragment, u.Fragment = "", ""
	return u.String(), nil
}

// checkHostName refuses host names that are not plain DNS names, that are
// numeric IPv4 notations, or that name local or metadata services.
func checkHostName(host string) error {
	bad := func(format string, args ...any) error { return data.Invalid("webhook_url", format, args...) }
	if len(host) > 253 {
		return bad("host name is too long")
	}
	labels := strings.Split(host, ".")
	numeric := true
	for _, l := range labels {
		if !numericLabel.MatchString(l) {
			numeric = false
		}
	}
	if numeric {
		return bad("host looks like an IP address in a non-standard notation; write it as dotted decimal")
	}
	for _, l := range labels {
		if !hostLabel.MatchString(l) {
			return bad("host %q is not a valid host name", host)
		}
	}
	if metadataHosts[host] || strings.HasSuffix(host, ".localhost") {
		return bad("points to an address that is not on the public internet")
	}
	return nil
}
