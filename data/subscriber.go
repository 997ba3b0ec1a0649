package data

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"net/mail"
	"strings"
	"time"
	"unicode/utf8"
)

// Channel is how a subscriber hears about changes.
type Channel string

// The delivery channels.
const (
	ChannelEmail   Channel = "email"
	ChannelWebhook Channel = "webhook"
)

// WebhookFormat is the body shape a webhook endpoint receives.
type WebhookFormat string

// The webhook formats: Statuspage's JSON (the default), a Slack incoming
// webhook message, a Microsoft Teams incoming webhook card.
const (
	FormatStatuspage WebhookFormat = "statuspage"
	FormatSlack      WebhookFormat = "slack"
	FormatTeams      WebhookFormat = "teams"
)

// ParseWebhookFormat validates a format named by a user; "" is statuspage.
func ParseWebhookFormat(s string) (WebhookFormat, error) {
	switch f := WebhookFormat(strings.ToLower(strings.TrimSpace(s))); f {
	case "":
		return FormatStatuspage, nil
	case FormatStatuspage, FormatSlack, FormatTeams:
		return f, nil
	}
	return "", Invalid("format", "must be statuspage, slack or teams")
}

// Subscriber is someone who receives notices: an email address, or a webhook
// endpoint with an owner's email address. A subscriber with no components and
// no journeys hears about everything; otherwise about what affects the
// components named, the components in the groups named (including ones added
// later) and the components of the journeys named (likewise).
type Subscriber struct {
	ID         int64
	Channel    Channel
	Email      string // the address for email; the owner's address for a webhook
	URL        string // webhook only
	Format     WebhookFormat
	Components []string // component or group ids
	Journeys   []string
	Staff      bool // a staff address from the configuration: hears staff alerts, never customer notices

	CreatedAt    time.Time
	ConfirmedAt  time.Time // zero until the owner confirms; nothing is delivered before
	DisabledAt   time.Time // webhook endpoints the notifier gave up on
	FailingSince time.Time // first failure of the current run of failures; zero when healthy

	// ManageToken opens the preferences page and unsubscribes; it is in
	// every message.
	ManageToken string
	// Secret signs webhook deliveries ("whsec_…"). PrevSecret still signs
	// alongside it until PrevSecretUntil after a rotation.
	Secret          string
	PrevSecret      string
	PrevSecretUntil time.Time
}

// All reports whether the subscriber hears about every component.
func (s Subscriber) All() bool { return len(s.Components) == 0 && len(s.Journeys) == 0 }

// Confirmed reports whether the owner confirmed the subscription.
func (s Subscriber) Confirmed() bool { return !s.ConfirmedAt.IsZero() }

// NewSubscriber is a subscription request from the public form or API.
type NewSubscriber struct {
	Channel    Channel
	Email      string
	URL        string // webhook only; validated by the caller (notifier.ValidateURL) before
	Format     WebhookFormat
	Components []string
	Journeys   []string
}

// maxScopes bounds the components and journeys one subscription names.
const maxScopes = 500

// maxEmailLength is RFC 5321's limit on a forward path.
const maxEmailLength = 254

// NormalizeAddress validates a subscriber's address given by a user and
// returns it in the form stored: a bare addr-spec, domain lower-cased. It
// refuses display names, anything outside printable ASCII (header injection,
// look-alike Unicode; international domains must be given in their punycode
// form), addresses longer than 254 bytes, and domains without a dot. It is
// stricter than NormalizeEmail, which names accounts.
func NormalizeAddress(field, s string) (string, error) {
	if s == "" {
		return "", Invalid(field, "is required")
	}
	if len(s) > maxEmailLength {
		return "", Invalid(field, "is longer than %d characters", maxEmailLength)
	}
	if !utf8.ValidString(s) {
		return "", Invalid(field, "must be valid UTF-8")
	}
	for _, r := range s {
		if r <= ' ' || r > '~' {
			return "", Invalid(field, "must be a plain address such as name@example.com, without spaces or special characters")
		}
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Name != "" || a.Address != s {
		return "", Invalid(field, "is not an email address such as name@example.com")
	}
	at := strings.LastIndexByte(s, '@')
	local, domain := s[:at], strings.ToLower(s[at+1:])
	if local == "" || len(local) > 64 || strings.ContainsAny(local, `"\`) {
		return "", Invalid(field, "is not an email address such as name@example.com")
	}
	labels := strings.Split(domain, ".")
	if len(labels) < 2 || len(domain) > 253 {
		return "", Invalid(field, "needs a domain such as example.com")
	}
	for _, l := range labels {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return "", Invalid(field, "has an invalid domain")
		}
		for _, c := range l {
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				return "", Invalid(field, "has an invalid domain")
			}
		}
	}
	return local + "@" + domain, nil
}

// Validate checks a subscription request and normalises its address, ids and
// format. The webhook URL must already have been validated (and normalised)
// by the caller, which can resolve names; here only its length is checked.
func (n *NewSubscriber) Validate() error {
	switch n.Channel {
	case ChannelEmail, ChannelWebhook:
	default:
		return Invalid("channel", "must be email or webhook")
	}
	e, err := NormalizeAddress("email", n.Email)
	if err != nil {
		return err
	}
	n.Email = e
	if n.Channel == ChannelWebhook {
		if n.URL == "" || len(n.URL) > 2048 {
			return Invalid("webhook_url", "is required and at most 2048 characters")
		}
		if n.Format, err = ParseWebhookFormat(string(n.Format)); err != nil {
			return err
		}
	} else {
		n.URL, n.Format = "", ""
	}
	if len(n.Components)+len(n.Journeys) > maxScopes {
		return Invalid("components", "at most %d components and journeys", maxScopes)
	}
	n.Components, err = uniqueIDs("components", n.Components)
	if err != nil {
		return err
	}
	n.Journeys, err = uniqueIDs("journeys", n.Journeys)
	return err
}

func uniqueIDs(field string, ids []string) ([]string, error) {
	seen := map[string]bool{}
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		if err := ValidateID(field, id); err != nil {
			return nil, err
		}
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out, nil
}

// newToken returns 32 random bytes in URL-safe base64 (43 characters).
func newToken() string {
	var b [32]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// hashToken is what is stored of a confirmation token: its SHA-256. The
// token itself only travels in the confirmation email.
func hashToken(t string) string {
	h := sha256.Sum256([]byte(t))
	return base64.RawURLEncoding.EncodeToString(h[:])
}

// ValidToken reports whether t has the shape of a token this package issues,
// so forged junk is refused before any lookup.
func ValidToken(t string) bool {
	if len(t) != 43 {
		return false
	}
	for _, c := range t {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}
