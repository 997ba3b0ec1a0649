package notifier

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/statusd/statusd/data"
)

// pool is one channel's workers: a dispatcher that claims due deliveries in
// batches, workers that send them, and a recorder that writes outcomes back
// in batches.
type pool struct {
	e       *Engine
	ch      data.Channel
	workers int
	jobs    chan data.Delivery
	results chan data.DeliveryResult
	wakeC   chan struct{}

	dispatchDone chan struct{}
	workersWG    sync.WaitGroup
	recorderDone chan struct{}
}

func newPool(e *Engine, ch data.Channel, workers int) *pool {
	return &pool{e: e, ch: ch, workers: workers,
		jobs:    make(chan data.Delivery, 2*workers),
		results: make(chan data.DeliveryResult, 4*workers),
		wakeC:   make(chan struct{}, 1),
	}
}

func (p *pool) nudge() {
	select {
	case p.wakeC <- struct{}{}:
	default:
	}
}

func (p *pool) start(loopCtx, sendCtx context.Context) {
	p.dispatchDone = make(chan struct{})
	p.recorderDone = make(chan struct{})
	go func() {
		defer close(p.dispatchDone)
		defer close(p.jobs)
		p.dispatch(loopCtx)
	}()
	for range p.workers {
		p.workersWG.Add(1)
		go func() {
			defer p.workersWG.Done()
			p.work(sendCtx)
		}()
	}
	go func() {
		defer close(p.recorderDone)
		p.record()
	}()
	go func() {
		p.workersWG.Wait()
		close(p.results)
	}()
}

// wait returns when every claimed delivery's outcome is recorded.
func (p *pool) wait() {
	<-p.dispatchDone
	p.workersWG.Wait()
	<-p.recorderDone
}

// dispatch claims due deliveries in batches whenever the workers' queue
// is at least half empty: one claim transaction per batch, not per worker.
func (p *pool) dispatch(ctx context.Context) {
	e := p.e
	t := time.NewTicker(e.o.Poll)
	defer t.Stop()
	size := cap(p.jobs)
	for {
		// Claim only what the workers can start soon, so leases do not run
		// out while deliveries wait in the queue.
		free := size - len(p.jobs)
		ds, err := e.store.ClaimDeliveries(ctx, p.ch, free, e.o.Lease)
		if err != nil && ctx.Err() == nil {
			e.log.Error("claim deliveries", "channel", p.ch, "err", err)
		}
		for _, d := range ds {
			p.jobs <- d // never blocks: there was room for them
		}
		if err == nil && len(ds) == free {
			// There is probably more: claim again once half the queue
			// has been taken up.
			for len(p.jobs) > size/2 {
				select {
				case <-ctx.Done():
					return
				case <-time.After(2 * time.Millisecond):
				}
			}
			continue
		}
		select {
		case <-ctx.Done():
			return
		case <-p.wakeC:
		case <-t.C:
		}
	}
}

func (p *pool) work(ctx context.Context) {
	for d := range p.jobs {
		if p.e.stopping.Load() {
			// Claimed but not started: back to the queue, no attempt spent.
			p.results <- data.DeliveryResult{ID: d.ID, Lease: d.LeaseUntil, Outcome: data.OutcomeRelease}
			p.e.metrics.deliveries.WithLabelValues(string(p.ch), "released").Inc()
			continue
		}
		p.results <- p.e.deliver(ctx, d)
	}
}

// record writes outcomes back in batches: one transaction per batch keeps
// the single writer free for the rest of statusd.
func (p *pool) record() {
	const maxBatch = 500
	buf := make([]data.DeliveryResult, 0, maxBatch)
	flush := func() {
		if len(buf) == 0 {
			return
		}
		// Outcomes are recorded even during shutdown: a bounded context of
		// their own, not the stopped loops'.
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		var err error
		for try := 0; try < 5; try++ {
			if err = p.e.store.FinishDeliveries(ctx, buf); err == nil || errors.Is(err, data.ErrClosed) {
				break
			}
			time.Sleep(time.Duration(try+1) * 100 * time.Millisecond)
		}
		if err != nil {
			// The leases run out and the deliveries are attempted again:
			// at least once, with the same key.
			p.e.log.Error("record delivery outcomes", "channel", p.ch, "count", len(buf), "err", err)
		}
		buf = buf[:0]
	}
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case r, ok := <-p.results:
			if !ok {
				flush()
				return
			}
			buf = append(buf, r)
			if len(buf) >= maxBatch {
				flush()
			}
		case <-t.C:
			flush()
		}
	}
}

// deliver makes one attempt at d and says what became of it.
func (e *Engine) deliver(ctx context.Context, d data.Delivery) data.DeliveryResult {
	ch := string(d.Channel)
	res := func(r data.DeliveryResult, label string) data.DeliveryResult {
		r.ID, r.Lease = d.ID, d.LeaseUntil
		e.metrics.deliveries.WithLabelValues(ch, label).Inc()
		return r
	}
	sub := d.Subscriber
	if sub.ID == 0 {
		return res(data.DeliveryResult{Outcome: data.OutcomeDead, Error: "subscriber no longer exists"}, "dead")
	}
	if d.Channel == data.ChannelWebhook && !sub.DisabledAt.IsZero() {
		return res(data.DeliveryResult{Outcome: data.OutcomeDead, Error: "endpoint disabled"}, "dead")
	}
	n, err := e.noticeOf(ctx, d)
	if err != nil {
		if errors.Is(err, data.ErrNotFound) {
			return res(data.DeliveryResult{Outcome: data.OutcomeDead, Error: "nothing to send: " + err.Error()}, "dead")
		}
		return res(data.DeliveryResult{Outcome: data.OutcomeRelease, Next: e.o.Now().Add(5 * time.Second)}, "released")
	}
	rc := Recipient{SubscriberID: sub.ID, Email: sub.Email}
	if !sub.Staff && d.Notice == "" {
		rc.ManageToken = sub.ManageToken
	}
	start := time.Now()
	var key string
	switch d.Channel {
	case data.ChannelEmail:
		key = e.mailer.Key()
		err = e.sendEmail(ctx, d, n, rc)
	case data.ChannelWebhook:
		key = hostKey(sub.URL)
		if !e.hosts.acquire(key) {
			// The host has its share of workers busy: wait a moment,
			// without spending an attempt.
			return res(data.DeliveryResult{Outcome: data.OutcomeRelease, Next: e.o.Now().Add(jitter(250 * time.Millisecond))}, "deferred")
		}
		err = e.sendWebhook(ctx, d, n, rc, key)
		e.hosts.release(key)
	}
	e.metrics.attemptSeconds.WithLabelValues(ch).Observe(time.Since(start).Seconds())
	now := e.o.Now()
	switch {
	case err == nil:
		e.metrics.latency.WithLabelValues(ch).Observe(max(0, now.Sub(d.EventAt)).Seconds())
		return res(data.DeliveryResult{Outcome: data.OutcomeSent}, "sent")
	case errors.Is(err, ErrBreakerOpen):
		return res(data.DeliveryResult{Outcome: data.OutcomeRelease, Next: now.Add(jitter(e.emailBreakers.openFor()))}, "deferred")
	case ctx.Err() != nil:
		// Shutting down: the attempt was interrupted, not failed.
		return res(data.DeliveryResult{Outcome: data.OutcomeRelease}, "released")
	}
	reason := err.Error()
	var se *SendError
	if errors.As(err, &se) {
		reason = se.Reason // no addresses, URLs or server chatter in the store
		if se.Code != 0 && se.Err != nil && d.Channel == data.ChannelEmail {
			reason = fmt.Sprintf("%s: %s", se.Reason, firstLine(se.Err.Error(), 200))
		}
	}
	e.log.Debug("delivery attempt failed", "channel", ch, "delivery", d.ID, "host", key, "attempt", d.Attempts+1, "reason", reason)
	webhook := d.Channel == data.ChannelWebhook
	if permanent(err) {
		return res(data.DeliveryResult{Outcome: data.OutcomeDead, Error: reason, Disable: webhook && gone(err), Failing: webhook}, "dead")
	}
	policy := e.o.EmailRetry
	if webhook {
		policy = e.o.WebhookRetry
	}
	if webhook && !sub.FailingSince.IsZero() && now.Sub(sub.FailingSince) >= e.o.DisableAfter {
		return res(data.DeliveryResult{Outcome: data.OutcomeDead, Disable: true,
			Error: fmt.Sprintf("endpoint failing for %s: %s", humanDuration(now.Sub(sub.FailingSince)), reason)}, "dead")
	}
	// The owner hears once that it keeps failing, well before it is disabled.
	warn := webhook && !sub.FailingSince.IsZero() && e.o.WarnAfter < e.o.DisableAfter && now.Sub(sub.FailingSince) >= e.o.WarnAfter
	wait, ok := policy.Next(d.Attempts+1, d.CreatedAt, now, nil)
	if !ok {
		return res(data.DeliveryResult{Outcome: data.OutcomeDead, Failing: webhook, Warn: warn,
			Error: fmt.Sprintf("gave up after %d attempts: %s", d.Attempts+1, reason)}, "dead")
	}
	wait = max(wait, retryAfter(err))
	return res(data.DeliveryResult{Outcome: data.OutcomeRetry, Next: now.Add(wait), Error: reason, Failing: webhook, Warn: warn}, "retry")
}

func (e *Engine) noticeOf(ctx context.Context, d data.Delivery) (*Notice, error) {
	switch d.Notice {
	case "":
		return e.events.get(ctx, d.EventID)
	case data.NoticeWebhookDisabled:
		return &Notice{At: d.CreatedAt, Endpoint: &EndpointNotice{URL: redactURL(d.Subscriber.URL), Reason: d.NoticeDetail}}, nil
	case data.NoticeWebhookFailing:
		return &Notice{At: d.CreatedAt, Endpoint: &EndpointNotice{URL: redactURL(d.Subscriber.URL), Reason: d.NoticeDetail, Warning: true,
			Since: d.Subscriber.FailingSince, DisableAfter: e.o.DisableAfter}}, nil
	}
	return nil, fmt.Errorf("notice %q: %w", d.Notice, data.ErrNotFound)
}

func (e *Engine) sendEmail(ctx context.Context, d data.Delivery, n *Notice, rc Recipient) error {
	msg, err := e.render.email(n, rc, d.Key)
	if err != nil {
		var se *SendError
		if errors.As(err, &se) {
			return err
		}
		return &SendError{Permanent: true, Reason: "message could not be rendered", Err: err}
	}
	done, err := e.emailBreakers.allow(e.mailer.Key())
	if err != nil {
		return err
	}
	err = e.mailer.Send(ctx, msg)
	done(err)
	return err
}

func (e *Engine) sendWebhook(ctx context.Context, d data.Delivery, n *Notice, rc Recipient, key string) error {
	if n.Endpoint != nil {
		return &SendError{Permanent: true, Reason: "endpoint notices go by email"}
	}
	sub := d.Subscriber
	body, err := e.render.webhook(n, rc, sub.Format)
	if err != nil {
		return &SendError{Permanent: true, Reason: "message could not be rendered", Err: err}
	}
	var keys [][]byte
	if sub.Format == data.FormatStatuspage || sub.Format == "" {
		k, err := ParseSecret(sub.Secret)
		if err != nil {
			return &SendError{Permanent: true, Reason: "endpoint has no valid signing secret"}
		}
		keys = append(keys, k)
		if sub.PrevSecret != "" && e.o.Now().Before(sub.PrevSecretUntil) {
			if k, err := ParseSecret(sub.PrevSecret); err == nil {
				keys = append(keys, k)
			}
		}
	}
	done, err := e.webhookBreakers.allow(key)
	if err != nil {
		return err
	}
	err = e.webhooks.Send(ctx, WebhookRequest{URL: sub.URL, ID: "msg_" + d.Key, Keys: keys, Body: body})
	done(err)
	return err
}

// jitter returns d plus up to 20% more, so deferred work does not come back
// all at once.
func jitter(d time.Duration) time.Duration {
	return d + time.Duration(rand.Float64()*0.2*float64(d))
}

func firstLine(s string, n int) string {
	for i, c := range s {
		if c == '\n' || c == '\r' {
			s = s[:i]
			break
		}
	}
	if len(s) > n {
		s = s[:n]
	}
	return s
}
