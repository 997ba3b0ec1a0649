package probes

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"
	"time"
)

// describe turns an error from dialing, a TLS handshake, a request or a read
// into a short reason for people: what happened, never a Go error chain, a
// URL or a header value. doing says what was under way ("connecting",
// "waiting for response headers"…); timeout is the run's time limit.
func describe(err error, doing string, timeout time.Duration) string {
	var (
		hostErr  x509.HostnameError
		authErr  x509.UnknownAuthorityError
		certErr  x509.CertificateInvalidError
		dnsErr   *net.DNSError
		opErr    *net.OpError
		recErr   tls.RecordHeaderError
		alertErr tls.AlertError
		netErr   net.Error
		redirErr *redirectError
		bodyErr  *bodyTooLargeError
	)
	switch {
	case errors.As(err, &redirErr):
		return redirErr.Error()
	case errors.As(err, &bodyErr):
		return bodyErr.Error()
	case errors.As(err, &certErr):
		return describeCertInvalid(certErr)
	case errors.As(err, &hostErr):
		return "certificate is not valid for " + hostErr.Host + certNames(hostErr.Certificate)
	case errors.As(err, &authErr):
		if authErr.Cert != nil && authErr.Cert.Issuer.String() == authErr.Cert.Subject.String() {
			return "certificate is self-signed and not trusted"
		}
		return "certificate is signed by an unknown authority"
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &netErr) && netErr.Timeout():
		return fmt.Sprintf("timed out after %s %s", roundDuration(timeout), doing)
	case errors.Is(err, context.Canceled):
		return "cancelled " + doing
	case errors.As(err, &dnsErr):
		if dnsErr.IsNotFound {
			return "cannot resolve " + dnsErr.Name + ": no such host"
		}
		return "cannot resolve " + dnsErr.Name
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset by peer " + doing
	case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		return "host unreachable"
	case errors.As(err, &recErr):
		return "TLS handshake failed: the server does not speak TLS"
	case errors.As(err, &alertErr):
		return "TLS handshake failed: " + strings.TrimPrefix(alertErr.Error(), "tls: ")
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return "connection closed by the server " + doing
	case errors.As(err, &opErr) && opErr.Err != nil:
		return opErr.Op + " failed " + doing + ": " + shortError(opErr.Err)
	}
	return "failed " + doing + ": " + shortError(err)
}

func describeCertInvalid(e x509.CertificateInvalidError) string {
	switch e.Reason {
	case x509.Expired:
		if e.Cert != nil {
			if time.Now().After(e.Cert.NotAfter) {
				return "certificate expired on " + e.Cert.NotAfter.UTC().Format(time.DateOnly)
			}
			return "certificate is not valid before " + e.Cert.NotBefore.UTC().Format(time.DateOnly)
		}
		return "certificate has expired or is not yet valid"
	case x509.NameConstraintsWithoutSANs, x509.CANotAuthorizedForThisName:
		return "certificate is not valid for this host"
	}
	return "certificate is invalid"
}

func certNames(c *x509.Certificate) string {
	if c == nil {
		return ""
	}
	names := c.DNSNames
	if len(names) == 0 && c.Subject.CommonName != "" {
		names = []string{c.Subject.CommonName}
	}
	if len(names) == 0 {
		return ""
	}
	if len(names) > 3 {
		names = append(names[:3:3], "…")
	}
	return " (it is for " + strings.Join(names, ", ") + ")"
}

// shortError is the innermost error's text, which for the standard library
// carries no URL or header.
func shortError(err error) string {
	for {
		u := errors.Unwrap(err)
		if u == nil {
			break
		}
		err = u
	}
	return clip(err.Error(), 200)
}

func roundDuration(d time.Duration) time.Duration {
	switch {
	case d >= 10*time.Second:
		return d.Round(time.Second)
	case d >= time.Second:
		return d.Round(100 * time.Millisecond)
	}
	return d.Round(time.Millisecond)
}

// clip shortens s to at most n bytes on a rune boundary.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n] + "…"
}

// redactor removes secret values from text before it leaves the package.
type redactor []string

func (r redactor) apply(s string) string {
	for _, v := range r {
		if v != "" && strings.Contains(s, v) {
			s = strings.ReplaceAll(s, v, "[secret]")
		}
	}
	return s
}

type redirectError struct{ max int }

func (e *redirectError) Error() string {
	return fmt.Sprintf("stopped after %d redirects (a redirect loop?)", e.max)
}

type bodyTooLargeError struct{ max int64 }

func (e *bodyTooLargeError) Error() string {
	return "response body is larger than " + formatBytes(e.max)
}

func formatBytes(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}
