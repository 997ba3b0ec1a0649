package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/statusd/statusd/data"
	"github.com/statusd/statusd/notifier/notifiertest"
)

// TestCrashMidFanout runs the real binary, publishes an incident to 2,000
// subscribers (1,800 by email, 200 by webhook), kills the process with
// SIGKILL while the messages are going out, and starts it again: every
// subscriber gets the message, and a message sent twice (because it was in
// flight at the kill) carries the same Message-ID or webhook-id both times.
func TestCrashMidFanout(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills the binary; skipped with -short")
	}
	const emails, hooks = 1800, 200
	smtpd := notifiertest.StartSMTP(t, notifiertest.SMTPOptions{})
	smtpd.SetDelay(2 * time.Millisecond) // a relay that takes a moment, so the kill lands mid-fan-out
	recv := notifiertest.StartReceiver(t)
	recv.SetDelay(5 * time.Millisecond)

	dir := t.TempDir()
	db := filepath.Join(dir, "statusd.db")
	cfg := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf(`page:
  name: Fernhill
  url: https://status.fernhill.example
journeys:
  - id: checkout
    name: Checkout
    components:
      - id: payments
        name: Payments
notifier:
  webhooks:
    allow: [127.0.0.0/8]
    timeout: 5s
  email:
    host: 127.0.0.1
    port: %d
    tls: none
    from: "Fernhill Status <status@fernhill.example>"
    concurrency: 4
    timeout: 10s
`, smtpd.Port)), 0o600); err != nil {
		t.Fatal(err)
	}
	p := startBinary(t, "--config", cfg, "--db", db)
	st, err := openStore(t, db)
	if err != nil {
		t.Fatal(err)
	}
	var list []data.NewSubscriber
	for i := range emails {
		list = append(list, data.NewSubscriber{Channel: data.ChannelEmail, Email: fmt.Sprintf("user%04d@example.com", i)})
	}
	for i := range hooks {
		list = append(list, data.NewSubscriber{Channel: data.ChannelWebhook, Email: "owner@example.com",
			URL: fmt.Sprintf("%s/hook/%03d", recv.URL, i)})
	}
	if n, err := st.AddConfirmedSubscribers(ctxBG, list, "test"); err != nil || n != emails+hooks {
		t.Fatalf("add subscribers: %d, %v", n, err)
	}
	subs, err := st.Subscribers(ctxBG, data.SubscriberFilter{Channel: data.ChannelWebhook, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	var all []string
	for _, s := range subs {
		all = append(all, s.Secret)
	}
	recv.SetSecrets(all...)
	if _, err := st.CreateIncident(ctxBG, newIncident("Card payments failing", "payments", "major_outage")); err != nil {
		t.Fatal(err)
	}
	// Kill it once a few hundred messages are out, well before the end.
	deadline := time.Now().Add(60 * time.Second)
	for smtpd.Count() < 300 {
		if time.Now().After(deadline) {
			t.Fatalf("only %d messages after a minute:\n%s", smtpd.Count(), p.logs.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := p.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-p.done
	atKill := smtpd.Count()
	if atKill >= emails {
		t.Fatalf("all %d emails were out before the kill; the test proves nothing", atKill)
	}
	t.Logf("killed with %d of %d emails and %d of %d webhooks delivered", atKill, emails, len(recv.Requests()), 2*hooks)

	startBinary(t, "--config", cfg, "--db", db)
	// Webhooks hear the incident and the component's status change
	// (Statuspage's component webhook): two messages each.
	smtpd.WaitFor(t, emails, 2*time.Minute)
	recv.WaitFor(t, 2*hooks, 2*time.Minute)
	// Let anything still in flight land before counting duplicates.
	waitQuiet(t, st)

	msgs := smtpd.Messages()
	byRcpt := map[string][]string{}
	for _, m := range msgs {
		if len(m.To) != 1 {
			t.Fatalf("message to %v", m.To)
		}
		byRcpt[m.To[0]] = append(byRcpt[m.To[0]], m.Header.Get("Message-ID"))
	}
	dupMail := 0
	for i := range emails {
		addr := fmt.Sprintf("user%04d@example.com", i)
		ids := byRcpt[addr]
		if len(ids) == 0 {
			t.Errorf("%s got nothing", addr)
			continue
		}
		for _, id := range ids[1:] {
			dupMail++
			if id != ids[0] {
				t.Errorf("%s got two different messages: %s and %s", addr, ids[0], id)
			}
		}
		if !strings.HasPrefix(ids[0], "<statusd.e") {
			t.Errorf("Message-ID %q", ids[0])
		}
	}
	reqs := recv.Requests()
	ids := map[string]int{}
	perHook := map[string]map[string]bool{}
	for _, r := range reqs {
		if !r.Verified {
			t.Fatal("a webhook did not verify")
		}
		id := r.Header.Get("webhook-id")
		ids[id]++
		if perHook[r.Path] == nil {
			perHook[r.Path] = map[string]bool{}
		}
		perHook[r.Path][id] = true
	}
	dupHook := 0
	for _, n := range ids {
		dupHook += n - 1
	}
	if len(perHook) != hooks {
		t.Errorf("%d endpoints heard; want %d", len(perHook), hooks)
	}
	for path, got := range perHook {
		if len(got) != 2 {
			t.Errorf("%s got %d distinct messages; want 2", path, len(got))
		}
	}
	t.Logf("after restart: %d emails (%d duplicates, each with the same Message-ID), %d webhooks (%d duplicates, same webhook-id)",
		len(msgs), dupMail, len(reqs), dupHook)
	// At most what was in flight at the kill: the workers' sends and the
	// outcomes not yet written (written every 20 ms).
	if dupMail > 200 || dupHook > 100 {
		t.Errorf("%d duplicate emails and %d duplicate webhooks; more than could have been in flight", dupMail, dupHook)
	}
}

// waitQuiet waits until no delivery is queued.
func waitQuiet(t *testing.T, st *data.Store) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		stats, err := st.DeliveryStats(ctxBG)
		if err != nil {
			t.Fatal(err)
		}
		busy := false
		for _, s := range stats {
			busy = busy || s.Queued > 0
		}
		if !busy {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("deliveries still queued after a minute")
}
