package main

import (
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strconv"
	"strings"
)

// EmbedConfig configures the widget, the framed status and the badges.
type EmbedConfig struct {
	// FrameAncestors are the origins allowed to show /embed/frame in a frame,
	// normalised to scheme://host[:port] in lower case. Every other page of
	// statusd forbids framing whatever this says.
	FrameAncestors []string
}

type rawEmbed struct {
	FrameAncestors []string `yaml:"frame_ancestors"`
}

// maxFrameAncestors bounds the list: it is sent in a header with every frame.
const maxFrameAncestors = 50

func (c *checker) embed(raw *rawEmbed, cfg *EmbedConfig) {
	if len(raw.FrameAncestors) > maxFrameAncestors {
		c.add("embed.frame_ancestors", "lists %d origins; at most %d are allowed", len(raw.FrameAncestors), maxFrameAncestors)
		return
	}
	first := map[string]int{}
	for i, s := range raw.FrameAncestors {
		path := fmt.Sprintf("embed.frame_ancestors[%d]", i)
		o, reason := parseFrameAncestor(s)
		if reason != "" {
			c.add(path, "%q %s", s, reason)
			continue
		}
		if l, dup := first[o]; dup {
			c.add(path, "%q is listed twice (first at line %d)", s, l)
			continue
		}
		first[o] = c.line(path)
		cfg.FrameAncestors = append(cfg.FrameAncestors, o)
	}
}

var dnsLabel = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

// parseFrameAncestor checks that s is an origin a Content-Security-Policy
// frame-ancestors directive can name: http or https, a host name (whose
// first label may be * for any subdomain) or an IP address, and an optional
// port; no path, query, fragment or user. It returns the origin in lower
// case, or why s is not one.
func parseFrameAncestor(s string) (origin, reason string) {
	const want = "is not an origin such as https://help.example.com (scheme, host and optional port; no path, query or fragment)"
	if s == "" || strings.ContainsFunc(s, func(r rune) bool { return r <= ' ' || r >= 0x7f || strings.ContainsRune(`;,'"\`, r) }) {
		if strings.ContainsFunc(s, func(r rune) bool { return r > 0x7f }) {
			return "", "has non-ASCII characters; write an internationalised host name in its xn-- form"
		}
		return "", want
	}
	u, err := url.Parse(s)
	if err != nil || u.Opaque != "" || u.Host == "" || u.User != nil || (u.Path != "" && u.Path != "/") ||
		u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || strings.HasSuffix(s, "#") {
		return "", want
	}
	scheme := strings.ToLower(u.Scheme)
	if scheme != "http" && scheme != "https" {
		return "", "must start with https:// or http://"
	}
	host := strings.ToLower(u.Hostname())
	switch ip := net.ParseIP(host); {
	case ip != nil && strings.Contains(host, ":"):
		host = "[" + ip.String() + "]"
	case ip != nil:
		host = ip.String()
	default:
		name, wild := strings.CutPrefix(host, "*.")
		labels := strings.Split(name, ".")
		if wild && len(labels) < 2 {
			return "", "allows every subdomain of a top-level domain; name a domain, such as https://*.example.com"
		}
		for _, l := range labels {
			if !dnsLabel.MatchString(l) {
				return "", want
			}
		}
	}
	origin = scheme + "://" + host
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 || p[0] == '0' {
			return "", "has a port outside 1 to 65535"
		}
		origin += ":" + p
	} else if strings.HasSuffix(u.Host, ":") {
		return "", want
	}
	return origin, ""
}
