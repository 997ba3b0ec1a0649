package probes

import (
	"context"
	"fmt"
	"net"
	"time"

	"github.com/statusd/statusd/data"
)

// TCP checks that a TCP connection to Address opens.
type TCP struct {
	Address string // host:port
	// DegradedAfter marks a slower connect degraded; 0 never.
	DegradedAfter time.Duration
}

var _ Checker = (*TCP)(nil)

// Check dials and closes at once.
func (t *TCP) Check(ctx context.Context) Check {
	start := time.Now()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", t.Address)
	if err != nil {
		return down(describe(err, "connecting", timeoutOf(ctx, start)))
	}
	took := time.Since(start)
	_ = conn.Close() // the connect was the check
	if t.DegradedAfter > 0 && took > t.DegradedAfter {
		return Check{Outcome: data.ProbeDegraded, Reason: fmt.Sprintf("slow: connected in %s, over %s", roundDuration(took), t.DegradedAfter)}
	}
	return up()
}
