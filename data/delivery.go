package data

import (
	"fmt"
	"time"
)

// DeliveryState is where a delivery is in its life.
//
//	pending ──claim──▶ leased ──▶ sent
//	   ▲                 │  └───▶ dead (permanent failure, too many attempts, too old)
//	   └── retrying ◀────┘
//
// A lease that runs out (its worker crashed) makes the delivery claimable
// again; releasing a lease (a graceful stop) puts it back without counting
// an attempt.
type DeliveryState string

// The delivery states.
const (
	DeliveryPending  DeliveryState = "pending"
	DeliveryLeased   DeliveryState = "leased"
	DeliveryRetrying DeliveryState = "retrying"
	DeliverySent     DeliveryState = "sent"
	DeliveryDead     DeliveryState = "dead"
)

// Delivery is one message to one subscriber: an event (EventID) or, for
// messages about the subscription itself, a notice (Notice). Key is unique
// and identifies the message on every attempt: it makes the email
// Message-ID and the webhook-id.
type Delivery struct {
	ID            int64
	Key           string
	EventID       int64  // 0 for notices
	Notice        string // "" for events; NoticeWebhookDisabled
	NoticeDetail  string
	SubscriberID  int64
	Channel       Channel
	State         DeliveryState
	Attempts      int
	NextAttemptAt time.Time
	LeaseUntil    time.Time
	LastError     string
	CreatedAt     time.Time
	EventAt       time.Time // when the event it announces happened (publish time)
	SentAt        time.Time

	// Subscriber is the recipient as it was when the delivery was claimed.
	Subscriber Subscriber
}

// NoticeWebhookDisabled tells a webhook's owner that the endpoint was
// disabled; NoticeDetail holds the reason.
const NoticeWebhookDisabled = "webhook_disabled"

// NoticeWebhookFailing warns a webhook's owner that the endpoint has been
// failing for a while and will be disabled if it goes on; NoticeDetail
// holds the last reason.
const NoticeWebhookFailing = "webhook_failing"

// EventKey is the key of the delivery of event to subscriber.
func EventKey(eventID, subscriberID int64) string {
	return fmt.Sprintf("e%d.s%d", eventID, subscriberID)
}

// Outcome is what became of one delivery attempt.
type Outcome int

// The outcomes of an attempt.
const (
	// OutcomeSent: delivered.
	OutcomeSent Outcome = iota + 1
	// OutcomeRetry: failed; try again at Next. The attempt counts.
	OutcomeRetry
	// OutcomeDead: failed for good (Error says why).
	OutcomeDead
	// OutcomeRelease: not attempted, or interrupted by shutdown, or held by
	// an open breaker; try again at Next (now if zero) without counting an
	// attempt.
	OutcomeRelease
)

// DeliveryResult reports one finished (or released) delivery.
type DeliveryResult struct {
	ID      int64
	Outcome Outcome
	// Lease is the LeaseUntil of the claim the attempt was made under;
	// when set, the result only applies if the delivery still holds that
	// lease (another claim since means someone else owns it now).
	Lease time.Time
	Next  time.Time // OutcomeRetry and OutcomeRelease
	Error string    // OutcomeRetry and OutcomeDead; kept short, no secrets
	// Disable, with OutcomeDead, disables the subscriber's webhook endpoint
	// and queues a notice to its owner (410 Gone, or failing for days).
	Disable bool
	// Failing marks the start of a run of failures on the endpoint (the
	// store keeps the earliest); a success clears it.
	Failing bool
	// Warn, with Failing, queues a warning to the webhook's owner that the
	// endpoint keeps failing, once per run of failures.
	Warn bool
}

// DeliveryStats is the state of the queue, for metrics.
type DeliveryStats struct {
	Channel       Channel
	Queued        int           // pending, retrying or leased
	OldestPending time.Duration // age of the oldest queued delivery's event; 0 if none
	Dead          int
}
