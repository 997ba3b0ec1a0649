package notifier_test

import (
	"crypto/tls"
	"errors"
	"testing"

	gomail "github.com/wneessen/go-mail"

	"github.com/statusd/statusd/notifier"
	"github.com/statusd/statusd/notifier/notifiertest"
)

func tlsConfig(s *notifiertest.SMTPServer) *tls.Config {
	return &tls.Config{RootCAs: s.CertPool, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12}
}

// newTestRenderer makes plain messages for mailer tests.
func newTestRenderer(t *testing.T) func(to string) *gomail.Msg {
	t.Helper()
	return func(to string) *gomail.Msg {
		m := gomail.NewMsg()
		if err := m.From("status@fernhill.example"); err != nil {
			t.Fatal(err)
		}
		if err := m.To(to); err != nil {
			t.Fatal(err)
		}
		m.Subject("test")
		m.SetMessageID()
		m.SetBodyString(gomail.TypeTextPlain, "hello")
		return m
	}
}

func asSendError(err error, se **notifier.SendError) bool { return errors.As(err, se) }
