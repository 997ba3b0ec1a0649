package probes

import (
	"context"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/miekg/dns"

	"github.com/statusd/statusd/data"
)

// DNS asks a resolver for one name and record type and checks the answer.
type DNS struct {
	Name string // the name to look up
	Type uint16 // dns.TypeA, TypeAAAA…
	// Resolver is host:port of the server to ask; the first nameserver of
	// /etc/resolv.conf if empty.
	Resolver string
	// Expect lists values that must all be among the answers (addresses,
	// host names, TXT strings); empty means any answer will do.
	Expect []string
	// DegradedAfter marks a slower answer degraded; 0 never.
	DegradedAfter time.Duration
}

var _ Checker = (*DNS)(nil)

// RecordTypes maps the record types a DNS probe can ask for to their codes.
var RecordTypes = map[string]uint16{
	"A": dns.TypeA, "AAAA": dns.TypeAAAA, "CNAME": dns.TypeCNAME, "MX": dns.TypeMX, "NS": dns.TypeNS,
	"TXT": dns.TypeTXT, "SRV": dns.TypeSRV, "PTR": dns.TypePTR, "CAA": dns.TypeCAA, "SOA": dns.TypeSOA,
}

// DefaultResolver is the first nameserver in /etc/resolv.conf, or
// 127.0.0.1:53.
func DefaultResolver() string {
	cc, err := dns.ClientConfigFromFile("/etc/resolv.conf")
	if err != nil || len(cc.Servers) == 0 {
		return "127.0.0.1:53"
	}
	return net.JoinHostPort(cc.Servers[0], cc.Port)
}

// Check sends the query over UDP, retrying over TCP if the answer was
// truncated.
func (d *DNS) Check(ctx context.Context) Check {
	start := time.Now()
	server := d.Resolver
	if server == "" {
		server = DefaultResolver()
	}
	typ := dns.TypeToString[d.Type]
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(d.Name), d.Type)
	m.RecursionDesired = true
	c := &dns.Client{Net: "udp", UDPSize: dns.DefaultMsgSize}
	resp, _, err := c.ExchangeContext(ctx, m, server)
	if err == nil && resp.Truncated {
		c.Net = "tcp"
		resp, _, err = c.ExchangeContext(ctx, m, server)
	}
	if err != nil {
		return down(describe(err, "waiting for the DNS answer", timeoutOf(ctx, start)))
	}
	took := time.Since(start)
	if resp.Rcode != dns.RcodeSuccess {
		return down(fmt.Sprintf("%s %s: the resolver answered %s", typ, d.Name, dns.RcodeToString[resp.Rcode]))
	}
	var got []string
	for _, rr := range resp.Answer {
		if rr.Header().Rrtype != d.Type {
			continue // CNAMEs on the way to the answer
		}
		got = append(got, rrValue(rr))
	}
	if len(got) == 0 {
		return down(fmt.Sprintf("%s %s: no records", typ, d.Name))
	}
	for _, want := range d.Expect {
		if !slices.ContainsFunc(got, func(g string) bool { return sameValue(g, want) }) {
			return down(fmt.Sprintf("%s %s: got %s, want %s", typ, d.Name, clip(strings.Join(got, ", "), 200), want))
		}
	}
	if d.DegradedAfter > 0 && took > d.DegradedAfter {
		return Check{Outcome: data.ProbeDegraded, Reason: fmt.Sprintf("slow: answered in %s, over %s", roundDuration(took), d.DegradedAfter)}
	}
	return up()
}

func rrValue(rr dns.RR) string {
	switch r := rr.(type) {
	case *dns.A:
		return r.A.String()
	case *dns.AAAA:
		return r.AAAA.String()
	case *dns.CNAME:
		return strings.TrimSuffix(r.Target, ".")
	case *dns.MX:
		return strings.TrimSuffix(r.Mx, ".")
	case *dns.NS:
		return strings.TrimSuffix(r.Ns, ".")
	case *dns.PTR:
		return strings.TrimSuffix(r.Ptr, ".")
	case *dns.TXT:
		return strings.Join(r.Txt, "")
	case *dns.SRV:
		return net.JoinHostPort(strings.TrimSuffix(r.Target, "."), strconv.Itoa(int(r.Port)))
	case *dns.CAA:
		return r.Tag + " " + r.Value
	case *dns.SOA:
		return strings.TrimSuffix(r.Ns, ".")
	}
	return strings.TrimPrefix(rr.String(), rr.Header().String())
}

// sameValue compares answers the way people write them: host names without
// case or the trailing dot, addresses in any spelling.
func sameValue(got, want string) bool {
	if a, b := net.ParseIP(got), net.ParseIP(want); a != nil && b != nil {
		return a.Equal(b)
	}
	return strings.EqualFold(strings.TrimSuffix(got, "."), strings.TrimSuffix(want, "."))
}
