package probes

import (
	"net"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/statusd/statusd/data"
)

// dnsServer starts a real DNS server on loopback UDP that answers from
// zone and returns its address. Names in silent get no answer at all.
func dnsServer(t *testing.T, zone map[string][]string, silent map[string]bool) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	mux := dns.NewServeMux()
	mux.HandleFunc(".", func(w dns.ResponseWriter, r *dns.Msg) {
		q := r.Question[0]
		if silent[q.Name] {
			return
		}
		m := new(dns.Msg)
		m.SetReply(r)
		rrs, ok := zone[q.Name]
		if !ok {
			m.Rcode = dns.RcodeNameError
		}
		for _, s := range rrs {
			rr, err := dns.NewRR(s)
			if err != nil {
				t.Errorf("bad test record %q: %v", s, err)
				continue
			}
			if rr.Header().Rrtype == q.Qtype || rr.Header().Rrtype == dns.TypeCNAME {
				m.Answer = append(m.Answer, rr)
			}
		}
		_ = w.WriteMsg(m)
	})
	started := make(chan struct{})
	srv := &dns.Server{PacketConn: pc, Handler: mux, NotifyStartedFunc: func() { close(started) }}
	go func() { _ = srv.ActivateAndServe() }()
	<-started
	t.Cleanup(func() { _ = srv.Shutdown() })
	return pc.LocalAddr().String()
}

func TestDNS(t *testing.T) {
	addr := dnsServer(t, map[string][]string{
		"api.fernhill.example.":   {"api.fernhill.example. 60 IN A 192.0.2.10", "api.fernhill.example. 60 IN A 192.0.2.11"},
		"www.fernhill.example.":   {"www.fernhill.example. 60 IN CNAME edge.fernhill.example.", "edge.fernhill.example. 60 IN A 192.0.2.20"},
		"fernhill.example.":       {"fernhill.example. 60 IN MX 10 mail.fernhill.example.", `fernhill.example. 60 IN TXT "v=spf1 -all"`},
		"v6.fernhill.example.":    {"v6.fernhill.example. 60 IN AAAA 2001:db8::1"},
		"empty.fernhill.example.": {},
	}, map[string]bool{"slow.fernhill.example.": true})
	tests := []struct {
		name, target, typ string
		expect            []string
		outcome           data.ProbeOutcome
		reason            string
	}{
		{"A", "api.fernhill.example", "A", nil, data.ProbeUp, ""},
		{"A expected", "api.fernhill.example", "A", []string{"192.0.2.11"}, data.ProbeUp, ""},
		{"A wrong", "api.fernhill.example", "A", []string{"192.0.2.99"}, data.ProbeDown, "A api.fernhill.example: got 192.0.2.10, 192.0.2.11, want 192.0.2.99"},
		{"through CNAME", "www.fernhill.example", "a", []string{"192.0.2.20"}, data.ProbeUp, ""},
		{"CNAME", "www.fernhill.example", "CNAME", []string{"EDGE.fernhill.example."}, data.ProbeUp, ""},
		{"MX", "fernhill.example", "MX", []string{"mail.fernhill.example"}, data.ProbeUp, ""},
		{"TXT", "fernhill.example", "TXT", []string{"v=spf1 -all"}, data.ProbeUp, ""},
		{"AAAA", "v6.fernhill.example", "AAAA", []string{"2001:0db8:0:0:0:0:0:1"}, data.ProbeUp, ""},
		{"NXDOMAIN", "nope.fernhill.example", "A", nil, data.ProbeDown, "A nope.fernhill.example: the resolver answered NXDOMAIN"},
		{"no records", "empty.fernhill.example", "A", nil, data.ProbeDown, "A empty.fernhill.example: no records"},
		{"no answer", "slow.fernhill.example", "A", nil, data.ProbeDown, "timed out after 500ms waiting for the DNS answer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := Spec{Type: TypeDNS, Target: tt.target, RecordType: tt.typ, Resolver: addr, Expect: tt.expect}
			wantCheck(t, run(t, s, 500*time.Millisecond, nil), tt.outcome, tt.reason)
		})
	}
}
