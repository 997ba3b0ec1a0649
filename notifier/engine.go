package notifier

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/statusd/statusd/data"
)

// Store is what the engine needs of the store. *data.Store satisfies it.
type Store interface {
	Subscribe() (<-chan struct{}, func())
	Register(ctx context.Context, consumer string) (int64, error)
	Cursor(ctx context.Context, consumer string) (pos, pending int64, err error)
	Consume(ctx context.Context, consumer string, limit int, fn func(tx *data.Tx, evs []data.Event) error) (int, error)
	Events(ctx context.Context, after int64, limit int) ([]data.Event, error)
	ExpandFanouts(ctx context.Context, page int) (int, bool, error)
	ClaimDeliveries(ctx context.Context, ch data.Channel, n int, lease time.Duration) ([]data.Delivery, error)
	FinishDeliveries(ctx context.Context, results []data.DeliveryResult) error
	DeliveryStats(ctx context.Context) ([]data.DeliveryStats, error)
	PruneDeliveries(ctx context.Context, sentBefore, deadBefore time.Time, limit int) (int, error)
	ReleaseLeases(ctx context.Context) (int, error)
	QueueMail(ctx context.Context, to string, body []byte) (int64, error)
	ClaimMail(ctx context.Context, n int, lease time.Duration) ([]data.QueuedMail, error)
	ReleaseMail(ctx context.Context, lease time.Duration) (int, error)
	FinishMail(ctx context.Context, r data.MailResult) error
	MailQueue(ctx context.Context) (int, time.Time, error)
	PruneMail(ctx context.Context, before time.Time) (int, error)
}

var _ Store = (*data.Store)(nil)

// ComponentChanges says which component status changes each channel
// announces on their own (see plan).
type ComponentChanges struct {
	Email   ChangePolicy // none by default
	Webhook ChangePolicy // all by default
}

// Options configure an Engine. Zero values take the defaults noted.
type Options struct {
	Page Page
	// From is the sender of every email, e.g. "Fernhill Status
	// <status@fernhill.example>".
	From string
	// Mailer sends email. Nil writes .eml files into EMLDir instead.
	Mailer Mailer
	EMLDir string

	Allow          Allowlist     // internal webhook targets the operator allows
	Resolver       *net.Resolver // for webhook hosts; nil for the system's
	WebhookTimeout time.Duration // 10s
	Webhook        *WebhookSender

	EmailWorkers   int // concurrent email sends; 8 (the mailer bounds connections itself)
	WebhookWorkers int // concurrent webhook posts; 64
	WebhookPerHost int // concurrent posts to one host; 16

	Lease        time.Duration // how long a claimed delivery is ours; 2m
	EmailRetry   RetryPolicy   // DefaultEmailRetry()
	WebhookRetry RetryPolicy   // DefaultWebhookRetry()
	Breaker      BreakerSettings
	// DisableAfter disables a webhook endpoint (and tells its owner) that
	// has failed without a success for this long; 5 days.
	DisableAfter time.Duration
	// WarnAfter warns a webhook's owner, once per run of failures, that
	// the endpoint has failed for this long; 24h. Not before DisableAfter.
	WarnAfter time.Duration
	// SecretOverlap is how long a rotated webhook secret keeps signing
	// beside the new one; 24h. (Used by the subscribe flow.)
	SecretOverlap time.Duration

	ComponentChanges ComponentChanges

	Poll       time.Duration // look for due work at least this often; 1s
	ExpandPage int           // subscribers per expansion transaction; 2000
	Retention  time.Duration // keep sent deliveries this long; 30 days (dead: 3×)

	Logger     *slog.Logger
	Registerer prometheus.Registerer
	Now        func() time.Time
}

func (o *Options) defaults() error {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	defInt := func(n *int, v int) {
		if *n <= 0 {
			*n = v
		}
	}
	def(&o.WebhookTimeout, 10*time.Second)
	def(&o.Lease, 2*time.Minute)
	def(&o.DisableAfter, 5*24*time.Hour)
	def(&o.WarnAfter, 24*time.Hour)
	def(&o.SecretOverlap, 24*time.Hour)
	def(&o.Poll, time.Second)
	def(&o.Retention, 30*24*time.Hour)
	defInt(&o.EmailWorkers, 8)
	defInt(&o.WebhookWorkers, 64)
	defInt(&o.WebhookPerHost, 16)
	defInt(&o.ExpandPage, 2000)
	if o.EmailRetry.Schedule == nil && o.EmailRetry.Base == 0 {
		o.EmailRetry = DefaultEmailRetry()
	}
	if o.WebhookRetry.Schedule == nil && o.WebhookRetry.Base == 0 {
		o.WebhookRetry = DefaultWebhookRetry()
	}
	if o.ComponentChanges.Email == "" {
		o.ComponentChanges.Email = ChangesNone
	}
	if o.ComponentChanges.Webhook == "" {
		o.ComponentChanges.Webhook = ChangesAll
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.From == "" {
		return errors.New("notifier: a From address is required")
	}
	return nil
}

// Engine turns events into deliveries and delivers them: a planner that
// consumes events after the notifier's cursor, an expander that writes one
// delivery per (event, subscriber) a page of subscribers at a time, and a
// worker pool per channel (a bulkhead: slow mail never holds up webhooks)
// that claims due deliveries under a lease, sends them through a breaker per
// host, and records the outcome.
type Engine struct {
	o        Options
	store    Store
	log      *slog.Logger
	render   *renderer
	mailer   Mailer
	webhooks *WebhookSender
	metrics  *metrics

	emailBreakers, webhookBreakers *breakers
	hosts                          hostLimiter
	events                         eventCache

	wake   chan struct{}
	txWake chan struct{}

	mu       sync.Mutex
	started  bool
	stopping atomic.Bool
	cancel   context.CancelFunc // stops claiming and the loops
	sendStop context.CancelFunc // interrupts sends in flight
	wg       sync.WaitGroup
	pools    []*pool
}

// New prepares an engine: it parses the email templates and opens the
// .eml directory when no mailer is given. It fails on a broken template or
// an unusable From address.
func New(store Store, o Options) (*Engine, error) {
	if err := o.defaults(); err != nil {
		return nil, err
	}
	r, err := newRenderer(o.Page, o.From)
	if err != nil {
		return nil, fmt.Errorf("notifier: %w", err)
	}
	e := &Engine{o: o, store: store, log: o.Logger.With("component", "notifier"), render: r,
		wake: make(chan struct{}, 1), txWake: make(chan struct{}, 1)}
	e.hosts.limit = o.WebhookPerHost
	e.hosts.inUse = map[string]int{}
	e.events.m = map[int64]*Notice{}
	e.events.store = store
	e.events.page = r.page
	e.mailer = o.Mailer
	if e.mailer == nil {
		if o.EMLDir == "" {
			return nil, errors.New("notifier: no SMTP relay and no directory for .eml files")
		}
		eml, err := NewEMLMailer(o.EMLDir)
		if err != nil {
			return nil, fmt.Errorf("notifier: %w", err)
		}
		e.mailer = eml
		e.log.Info("no SMTP relay configured: email is written as .eml files", "dir", eml.Dir())
	}
	e.webhooks = o.Webhook
	if e.webhooks == nil {
		e.webhooks = NewWebhookSender(WebhookOptions{Allow: o.Allow, Resolver: o.Resolver, Timeout: o.WebhookTimeout, Now: o.Now})
	}
	e.metrics = newMetrics(o.Registerer, e)
	onChange := func(ch string) func(string, gobreakerState, gobreakerState) {
		return func(key string, from, to gobreakerState) {
			e.log.Warn("circuit breaker changed state", "channel", ch, "host", key, "from", from.String(), "to", to.String())
		}
	}
	e.emailBreakers = newBreakers(o.Breaker, onChange("email"))
	e.webhookBreakers = newBreakers(o.Breaker, onChange("webhook"))
	return e, nil
}

// Start registers the notifier's cursor (events from now on are announced;
// history is not), takes back deliveries a previous process had claimed
// (there is one notifier per database) and starts the loops. It returns at once; Stop stops them.
func (e *Engine) Start(ctx context.Context) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.started {
		return errors.New("notifier: already started")
	}
	if _, err := e.store.Register(ctx, consumerName); err != nil {
		return fmt.Errorf("notifier: register event cursor: %w", err)
	}
	// One notifier per database: leases still held are a dead process's.
	if n, err := e.store.ReleaseLeases(ctx); err != nil {
		return fmt.Errorf("notifier: release leases of a previous run: %w", err)
	} else if n > 0 {
		e.log.Info("took back deliveries in flight when the last run stopped", "count", n)
	}
	if n, err := e.store.ReleaseMail(ctx, e.o.Lease); err != nil {
		return fmt.Errorf("notifier: release mail of a previous run: %w", err)
	} else if n > 0 {
		e.log.Info("took back transactional mail in flight when the last run stopped", "count", n)
	}
	e.started = true
	ctx = context.WithoutCancel(ctx)
	var loopCtx, sendCtx context.Context
	loopCtx, e.cancel = context.WithCancel(ctx)
	sendCtx, e.sendStop = context.WithCancel(ctx)
	e.pools = []*pool{
		newPool(e, data.ChannelEmail, e.o.EmailWorkers),
		newPool(e, data.ChannelWebhook, e.o.WebhookWorkers),
	}
	for _, p := range e.pools {
		p.start(loopCtx, sendCtx)
	}
	e.wg.Add(3)
	go func() { defer e.wg.Done(); e.expandLoop(loopCtx) }()
	go func() { defer e.wg.Done(); e.statsLoop(loopCtx) }()
	go func() { defer e.wg.Done(); e.transactionalLoop(loopCtx, sendCtx) }()
	return nil
}

// Stop stops claiming work, puts claimed deliveries not yet started back
// without counting an attempt, and waits for sends in flight until ctx ends;
// sends still running then are interrupted and put back the same way.
// Outcomes are recorded before it returns.
func (e *Engine) Stop(ctx context.Context) error {
	e.mu.Lock()
	if !e.started || e.stopping.Load() {
		e.mu.Unlock()
		return nil
	}
	e.stopping.Store(true)
	e.mu.Unlock()
	e.cancel()
	stop := context.AfterFunc(ctx, e.sendStop)
	defer stop()
	done := make(chan struct{})
	go func() {
		for _, p := range e.pools {
			p.wait()
		}
		e.wg.Wait()
		close(done)
	}()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		// Sends were interrupted; their outcomes are released. Give the
		// last write a moment of its own.
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			err = fmt.Errorf("notifier: stop: %w", ctx.Err())
		}
	}
	e.sendStop()
	e.webhooks.Close()
	if cerr := e.mailer.Close(); cerr != nil {
		err = errors.Join(err, fmt.Errorf("notifier: close mailer: %w", cerr))
	}
	return err
}

// nudge tells the pools that deliveries may be due.
func (e *Engine) nudge() {
	for _, p := range e.pools {
		p.nudge()
	}
}

// Wake asks the engine to look for new events now rather than at its next
// poll.
func (e *Engine) Wake() {
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

func (e *Engine) expandLoop(ctx context.Context) {
	changes, unsubscribe := e.store.Subscribe()
	defer unsubscribe()
	t := time.NewTicker(e.o.Poll)
	defer t.Stop()
	prune := time.NewTicker(time.Hour)
	defer prune.Stop()
	for {
		if _, err := e.expand(ctx); err != nil && ctx.Err() == nil {
			e.log.Error("expand events into deliveries", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case _, ok := <-changes:
			if !ok {
				return
			}
		case <-e.wake:
		case <-t.C:
		case <-prune.C:
			e.prune(ctx)
		}
	}
}

func (e *Engine) prune(ctx context.Context) {
	now := e.o.Now()
	for {
		n, err := e.store.PruneDeliveries(ctx, now.Add(-e.o.Retention), now.Add(-3*e.o.Retention), 5000)
		if err != nil {
			if ctx.Err() == nil {
				e.log.Error("prune old deliveries", "err", err)
			}
			return
		}
		if n < 5000 {
			return
		}
	}
}

func (e *Engine) statsLoop(ctx context.Context) {
	t := time.NewTicker(5 * time.Second)
	defer t.Stop()
	for {
		stats, err := e.store.DeliveryStats(ctx)
		if err == nil {
			for _, s := range stats {
				e.metrics.queued.WithLabelValues(string(s.Channel)).Set(float64(s.Queued))
				e.metrics.oldest.WithLabelValues(string(s.Channel)).Set(s.OldestPending.Seconds())
			}
		} else if ctx.Err() == nil {
			e.log.Warn("read delivery queue statistics", "err", err)
		}
		// The mail outbox (confirmation links) as the channel "transactional".
		if n, oldest, err := e.store.MailQueue(ctx); err == nil {
			e.metrics.queued.WithLabelValues("transactional").Set(float64(n))
			age := 0.0
			if n > 0 {
				age = max(e.o.Now().Sub(oldest).Seconds(), 0)
			}
			e.metrics.oldest.WithLabelValues("transactional").Set(age)
		} else if ctx.Err() == nil {
			e.log.Warn("read mail outbox statistics", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// SendTransactional queues a message that is not about an event (a
// confirmation link, an "already subscribed" note) in the store's mail
// outbox and returns once it is stored: a restart or an SMTP outage delays
// it, it is not lost. It is sent soon, retried with backoff and jitter like
// incident email (EmailRetry) while the link can still be of use, and
// dropped with the reason after that. It works before Start too; the mail
// waits for it.
func (e *Engine) SendTransactional(m Transactional) error {
	if e.stopping.Load() {
		return errors.New("notifier: stopping")
	}
	b, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("notifier: encode mail: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := e.store.QueueMail(ctx, m.To, b); err != nil {
		return fmt.Errorf("notifier: queue mail: %w", err)
	}
	select {
	case e.txWake <- struct{}{}:
	default:
	}
	return nil
}

// transactionalLoop sends the mail outbox: due mails a few at a time, at
// once when one is queued, otherwise at every poll.
func (e *Engine) transactionalLoop(ctx, sendCtx context.Context) {
	t := time.NewTicker(e.o.Poll)
	defer t.Stop()
	prune := time.NewTicker(time.Hour)
	defer prune.Stop()
	for {
		for ctx.Err() == nil {
			list, err := e.store.ClaimMail(ctx, 8, e.o.Lease)
			if err != nil {
				if ctx.Err() == nil {
					e.log.Error("claim transactional mail", "err", err)
				}
				break
			}
			for _, m := range list {
				e.sendTransactional(sendCtx, m)
			}
			if len(list) < 8 {
				break
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-e.txWake:
		case <-t.C:
		case <-prune.C:
			if _, err := e.store.PruneMail(ctx, e.o.Now().Add(-e.o.Retention)); err != nil && ctx.Err() == nil {
				e.log.Error("prune transactional mail", "err", err)
			}
		}
	}
}

// sendTransactional makes one attempt at a queued mail and records it.
func (e *Engine) sendTransactional(ctx context.Context, q data.QueuedMail) {
	res := data.MailResult{ID: q.ID}
	err := e.attemptTransactional(ctx, q)
	switch {
	case err == nil:
		e.metrics.deliveries.WithLabelValues("email", "sent").Inc()
	case ctx.Err() != nil:
		// Stopping: try again at the next start, without counting this.
		res.Err, res.RetryAt = "interrupted by shutdown", e.o.Now()
	default:
		res.Err = err.Error()
		if wait, ok := e.o.EmailRetry.Next(q.Attempts+1, q.CreatedAt, e.o.Now(), nil); ok && !permanent(err) {
			res.RetryAt = e.o.Now().Add(wait)
			e.metrics.deliveries.WithLabelValues("email", "retry").Inc()
		} else {
			e.metrics.deliveries.WithLabelValues("email", "dead").Inc()
			e.log.Warn("transactional email not sent", "mail", q.ID, "attempts", q.Attempts+1, "err", err)
		}
	}
	// The outcome is written even while stopping.
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if ferr := e.store.FinishMail(wctx, res); ferr != nil {
		e.log.Error("record transactional mail", "mail", q.ID, "err", ferr)
	}
}

func (e *Engine) attemptTransactional(ctx context.Context, q data.QueuedMail) error {
	var t Transactional
	if err := json.Unmarshal(q.Body, &t); err != nil {
		return &SendError{Permanent: true, Reason: "unreadable queued mail", Err: err}
	}
	msg, err := e.render.transactional(t, fmt.Sprintf("mail-%d-%d", q.ID, q.CreatedAt.UnixMilli()))
	if err != nil {
		return &SendError{Permanent: true, Reason: "cannot render", Err: err}
	}
	done, err := e.emailBreakers.allow(e.mailer.Key())
	if err != nil {
		return err
	}
	sctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	err = e.mailer.Send(sctx, msg)
	done(err)
	return err
}

// Renderer gives the subscribe flow the page's identity.
func (e *Engine) Page() Page { return e.render.page }

// SecretOverlap is how long a rotated secret keeps signing.
func (e *Engine) SecretOverlap() time.Duration { return e.o.SecretOverlap }

// eventCache keeps the notices of recent events: a fan-out to 100,000
// subscribers reads its event once.
type eventCache struct {
	store Store
	page  Page
	mu    sync.Mutex
	m     map[int64]*Notice
	order []int64
}

const eventCacheSize = 256

func (c *eventCache) get(ctx context.Context, id int64) (*Notice, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if n, ok := c.m[id]; ok {
		return n, nil
	}
	evs, err := c.store.Events(ctx, id-1, 1)
	if err != nil {
		return nil, fmt.Errorf("load event %d: %w", id, err)
	}
	if len(evs) == 0 || evs[0].ID != id {
		return nil, fmt.Errorf("event %d: %w", id, data.ErrNotFound)
	}
	n, ok := noticeFor(evs[0], c.page)
	if !ok {
		return nil, fmt.Errorf("event %d (%s) has nothing to announce: %w", id, evs[0].Kind, data.ErrNotFound)
	}
	if len(c.order) >= eventCacheSize {
		delete(c.m, c.order[0])
		c.order = c.order[1:]
	}
	c.m[id] = n
	c.order = append(c.order, id)
	return n, nil
}

// hostLimiter bounds concurrent posts per webhook host, so one slow host
// cannot take every worker.
type hostLimiter struct {
	mu    sync.Mutex
	limit int
	inUse map[string]int
}

func (h *hostLimiter) acquire(key string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.inUse[key] >= h.limit {
		return false
	}
	h.inUse[key]++
	return true
}

func (h *hostLimiter) release(key string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.inUse[key]--; h.inUse[key] <= 0 {
		delete(h.inUse, key)
	}
}
