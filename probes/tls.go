package probes

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"math"
	"net"
	"time"

	"github.com/statusd/statusd/data"
)

// TLS checks a server's certificate: trusted, valid for the host, and not
// about to expire.
type TLS struct {
	Address    string // host:port
	ServerName string // the name the certificate must be valid for; Address's host if empty
	// ExpiryWarning marks the probe degraded when the certificate chain
	// expires sooner than this. 0 never.
	ExpiryWarning time.Duration
	// RootCAs to trust; the system's if nil.
	RootCAs *x509.CertPool
	// Now is the clock for expiry; time.Now if nil.
	Now func() time.Time
}

var _ Checker = (*TLS)(nil)

// Check performs a handshake with verification and inspects the chain.
func (t *TLS) Check(ctx context.Context) Check {
	start := time.Now()
	name := t.ServerName
	if name == "" {
		host, _, err := net.SplitHostPort(t.Address)
		if err != nil {
			return down("bad address: " + shortError(err))
		}
		name = host
	}
	now := time.Now
	if t.Now != nil {
		now = t.Now
	}
	d := tls.Dialer{Config: &tls.Config{ServerName: name, RootCAs: t.RootCAs, MinVersion: tls.VersionTLS12, Time: now}}
	conn, err := d.DialContext(ctx, "tcp", t.Address)
	if err != nil {
		return down(describe(err, "in the TLS handshake", timeoutOf(ctx, start)))
	}
	state := conn.(*tls.Conn).ConnectionState()
	_ = conn.Close() // the handshake was the check
	if len(state.VerifiedChains) == 0 {
		return down("certificate could not be verified")
	}
	// The chain is only as good as its first certificate to expire.
	var first *x509.Certificate
	for _, c := range state.VerifiedChains[0] {
		if first == nil || c.NotAfter.Before(first.NotAfter) {
			first = c
		}
	}
	left := first.NotAfter.Sub(now())
	if t.ExpiryWarning > 0 && left < t.ExpiryWarning {
		days := int(math.Floor(left.Hours() / 24))
		what := "certificate"
		if first != state.VerifiedChains[0][0] {
			what = "certificate chain (" + first.Subject.CommonName + ")"
		}
		when := fmt.Sprintf("in %d days", days)
		switch days {
		case 0:
			when = "within a day"
		case 1:
			when = "in 1 day"
		}
		return Check{Outcome: data.ProbeDegraded, Reason: fmt.Sprintf("%s expires %s (%s)", what, when, first.NotAfter.UTC().Format(time.DateOnly))}
	}
	return up()
}
