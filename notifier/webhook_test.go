package notifier_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/statusd/statusd/notifier"
	"github.com/statusd/statusd/notifier/notifiertest"
)

// The test vector of the Standard Webhooks specification.
func TestSignatureSpecVector(t *testing.T) {
	key, err := notifier.ParseSecret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
	if err != nil {
		t.Fatal(err)
	}
	got := notifier.Signature(key, "msg_p5jXN8AQM9LWM0D4loKWxJek", time.Unix(1614265330, 0), []byte(`{"test": 2432232314}`))
	if want := "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="; got != want {
		t.Fatalf("Signature = %q; want %q", got, want)
	}
}

func TestSecrets(t *testing.T) {
	s := notifier.NewSecret()
	if !strings.HasPrefix(s, "whsec_") {
		t.Fatalf("NewSecret() = %q", s)
	}
	if _, err := notifier.ParseSecret(s); err != nil {
		t.Fatalf("ParseSecret(NewSecret()) = %v", err)
	}
	for _, bad := range []string{"", "whsec_", "sk_abc", "whsec_!!!", "whsec_YWJj"} {
		if _, err := notifier.ParseSecret(bad); !errors.Is(err, notifier.ErrBadSecret) {
			t.Errorf("ParseSecret(%q) = %v; want ErrBadSecret", bad, err)
		}
	}
}

func allowLoopback(t *testing.T) notifier.Allowlist {
	t.Helper()
	a, err := notifier.ParseAllowlist([]string{"127.0.0.0/8", "::1"})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestWebhookSenderSigns(t *testing.T) {
	recv := notifiertest.StartReceiver(t)
	secret, old := notifier.NewSecret(), notifier.NewSecret()
	k1, _ := notifier.ParseSecret(secret)
	k2, _ := notifier.ParseSecret(old)
	w := notifier.NewWebhookSender(notifier.WebhookOptions{Allow: allowLoopback(t)})
	defer w.Close()
	body := []byte(`{"incident":{"id":"x"}}`)
	if err := w.Send(context.Background(), notifier.WebhookRequest{URL: recv.URL + "/hook", ID: "msg_e1.s2", Keys: [][]byte{k1, k2}, Body: body}); err != nil {
		t.Fatal(err)
	}
	// Each secret alone verifies (a receiver mid-rotation holds either).
	for _, s := range []string{secret, old} {
		r := recv.Requests()[0]
		if err := notifiertest.VerifyStandardWebhook(s, r.Header, r.Body, time.Now(), 5*time.Minute); err != nil {
			t.Errorf("verify with one of the secrets: %v", err)
		}
	}
	r := recv.Requests()[0]
	if got := r.Header.Get("webhook-id"); got != "msg_e1.s2" {
		t.Errorf("webhook-id = %q", got)
	}
	if got := r.Header.Get("Content-Type"); got != "application/json" {
		t.Errorf("Content-Type = %q", got)
	}
	// A tampered body or a wrong secret does not verify.
	if err := notifiertest.VerifyStandardWebhook(secret, r.Header, append(r.Body, ' '), time.Now(), 5*time.Minute); err == nil {
		t.Error("tampered body verified")
	}
	if err := notifiertest.VerifyStandardWebhook(notifier.NewSecret(), r.Header, r.Body, time.Now(), 5*time.Minute); err == nil {
		t.Error("wrong secret verified")
	}
	if err := notifiertest.VerifyStandardWebhook(secret, r.Header, r.Body, time.Now().Add(10*time.Minute), 5*time.Minute); err == nil {
		t.Error("stale timestamp verified")
	}
}

func TestWebhookSenderOutcomes(t *testing.T) {
	var redirected atomic.Int32
	mux := http.NewServeMux()
	mux.HandleFunc("/ok", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(204) })
	mux.HandleFunc("/gone", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(410) })
	mux.HandleFunc("/500", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(500) })
	mux.HandleFunc("/429", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "120")
		w.WriteHeader(429)
	})
	mux.HandleFunc("/404", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(404) })
	mux.HandleFunc("/redirect", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/target", http.StatusTemporaryRedirect)
	})
	mux.HandleFunc("/target", func(w http.ResponseWriter, r *http.Request) { redirected.Add(1) })
	mux.HandleFunc("/huge", func(w http.ResponseWriter, r *http.Request) {
		// A body far larger than the sender reads; the sender must not
		// wait for all of it.
		w.WriteHeader(200)
		chunk := []byte(strings.Repeat("x", 64<<10))
		for i := 0; i < 1<<14; i++ {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	})
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(3 * time.Second): // far past the sender's timeout
		case <-r.Context().Done():
		}
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	w := notifier.NewWebhookSender(notifier.WebhookOptions{Allow: allowLoopback(t), Timeout: 500 * time.Millisecond})
	defer w.Close()
	send := func(path string) error {
		return w.Send(context.Background(), notifier.WebhookRequest{URL: srv.URL + path, ID: "msg_1", Keys: [][]byte{make([]byte, 32)}, Body: []byte("{}")})
	}
	if err := send("/ok"); err != nil {
		t.Errorf("/ok: %v", err)
	}
	if err := send("/huge"); err != nil {
		t.Errorf("/huge: %v", err)
	}
	check := func(path string, want func(*notifier.SendError) bool) {
		t.Helper()
		err := send(path)
		var se *notifier.SendError
		if !errors.As(err, &se) || !want(se) {
			t.Errorf("%s: %#v", path, err)
		}
	}
	check("/gone", func(se *notifier.SendError) bool { return se.Gone && se.Code == 410 })
	check("/500", func(se *notifier.SendError) bool { return se.HostFault && !se.Permanent && se.Code == 500 })
	check("/429", func(se *notifier.SendError) bool { return se.HostFault && se.RetryAfter == 2*time.Minute })
	check("/404", func(se *notifier.SendError) bool { return !se.HostFault && !se.Permanent && se.Code == 404 })
	check("/redirect", func(se *notifier.SendError) bool { return se.Code == 307 })
	check("/slow", func(se *notifier.SendError) bool { return se.HostFault && se.Code == 0 })
	if n := redirected.Load(); n != 0 {
		t.Errorf("redirect followed %d times", n)
	}
	// Without the allowlist, the same loopback receiver is refused at
	// connect time.
	strict := notifier.NewWebhookSender(notifier.WebhookOptions{})
	defer strict.Close()
	err := strict.Send(context.Background(), notifier.WebhookRequest{URL: srv.URL + "/ok", ID: "msg_1", Body: []byte("{}")})
	if !errors.Is(err, notifier.ErrForbiddenAddress) {
		var se *notifier.SendError
		if !errors.As(err, &se) || !se.Permanent {
			t.Errorf("strict sender to loopback: %v", err)
		}
	}
}
