package main

import (
	"fmt"
	"net"
	"net/mail"
	"net/netip"
	"strings"
	"time"

	"github.com/statusd/statusd/data"
)

// NotifierConfig holds subscriptions and the delivery channels.
type NotifierConfig struct {
	// Disabled turns off subscriptions and deliveries (notifier.enabled:
	// false). By default they are on, with email written to EMLDir until
	// an SMTP relay is configured.
	Disabled bool
	From     string       // sender of every email; "" derives one from the page
	Email    *EmailConfig // nil: email is written as .eml files into EMLDir
	EMLDir   string       // "" is "mail" beside the database file
	Webhooks WebhookConfig
	// EmailWorkers and the webhooks' Workers are the two channels' pools
	// (bulkheads: slow mail never holds up webhooks).
	EmailWorkers     int
	Staff            []string // addresses for staff alerts
	ComponentChanges ComponentChangesConfig
	ConfirmTTL       time.Duration
	DisableAfter     time.Duration
	WarnAfter        time.Duration // warn a webhook's owner after failing this long
	// Subscribe requests per IP address per hour, and confirmation mails
	// per address per hour.
	PerIP, PerAddress int
}

// EmailConfig is the SMTP relay used to send mail.
type EmailConfig struct {
	Host        string
	Port        int
	TLS         string // starttls, tls or none
	Username    string
	Password    string
	From        string // an RFC 5322 address, checked with net/mail
	Concurrency int
	Timeout     time.Duration
}

// WebhookConfig sets how webhooks are sent.
type WebhookConfig struct {
	Allow   []string // CIDR prefixes or addresses of internal targets allowed
	Timeout time.Duration
	Workers int
	PerHost int
}

// ComponentChangesConfig says which component status changes each channel
// announces on their own: all, override or none.
type ComponentChangesConfig struct {
	Email, Webhook string
}

type rawNotifier struct {
	Enabled          *bool                `yaml:"enabled"`
	From             *string              `yaml:"from"`
	Email            *rawEmail            `yaml:"email"`
	EMLDir           *string              `yaml:"eml_dir"`
	Webhooks         *rawWebhooks         `yaml:"webhooks"`
	EmailWorkers     *int                 `yaml:"email_workers"`
	Staff            []string             `yaml:"staff"`
	ComponentChanges *rawComponentChanges `yaml:"component_changes"`
	ConfirmTTL       *string              `yaml:"confirm_ttl"`
	DisableAfter     *string              `yaml:"disable_after"`
	WarnAfter        *string              `yaml:"warn_after"`
	RateLimit        *rawRateLimit        `yaml:"rate_limit"`
}

type rawEmail struct {
	Host        *string `yaml:"host"`
	Port        *int    `yaml:"port"`
	TLS         *string `yaml:"tls"`
	Username    *string `yaml:"username"`
	Password    *string `yaml:"password"`
	From        *string `yaml:"from"`
	Concurrency *int    `yaml:"concurrency"`
	Timeout     *string `yaml:"timeout"`
}

type rawWebhooks struct {
	Allow   []string `yaml:"allow"`
	Timeout *string  `yaml:"timeout"`
	Workers *int     `yaml:"workers"`
	PerHost *int     `yaml:"per_host"`
}

type rawComponentChanges struct {
	Email   *string `yaml:"email"`
	Webhook *string `yaml:"webhook"`
}

type rawRateLimit struct {
	PerIP      *int `yaml:"per_ip"`
	PerAddress *int `yaml:"per_address"`
}

// envSMTPPassword, when set, replaces notifier.email.password.
const envSMTPPassword = "STATUSD_SMTP_PASSWORD"

func (c *checker) notifier(file *rawConfig, cfg *Config) {
	raw, n := &file.Notifier, &cfg.Notifier
	n.Disabled = raw.Enabled != nil && !*raw.Enabled
	if raw.From != nil {
		if _, err := mail.ParseAddress(*raw.From); err != nil {
			c.add("notifier.from", "%q is not an email address such as \"Acme Status <status@acme.example>\" (%v)", *raw.From, err)
		} else {
			n.From = *raw.From
		}
	}
	if raw.EMLDir != nil {
		if strings.TrimSpace(*raw.EMLDir) == "" {
			c.add("notifier.eml_dir", "must not be empty (leave it out for \"mail\" beside the database)")
		} else {
			n.EMLDir = *raw.EMLDir
		}
	}
	n.EmailWorkers = c.intRange("notifier.email_workers", raw.EmailWorkers, 8, 1, 1000, "")
	n.Webhooks = WebhookConfig{Timeout: 10 * time.Second, Workers: 64, PerHost: 16}
	if w := raw.Webhooks; w != nil {
		for i, a := range w.Allow {
			if _, err := netip.ParsePrefix(a); err == nil {
				n.Webhooks.Allow = append(n.Webhooks.Allow, a)
			} else if ip, err := netip.ParseAddr(a); err == nil && ip.Zone() == "" {
				n.Webhooks.Allow = append(n.Webhooks.Allow, a)
			} else {
				c.add(fmt.Sprintf("notifier.webhooks.allow[%d]", i), "%q is not an address or CIDR prefix such as 10.1.0.0/16", a)
			}
		}
		n.Webhooks.Timeout = c.duration("notifier.webhooks.timeout", w.Timeout, durationRange{def: 10 * time.Second, min: 0, minExclusive: true, max: time.Minute})
		n.Webhooks.Workers = c.intRange("notifier.webhooks.workers", w.Workers, 64, 1, 4096, "")
		n.Webhooks.PerHost = c.intRange("notifier.webhooks.per_host", w.PerHost, 16, 1, 4096, "")
	}
	seen := map[string]bool{}
	for i, s := range raw.Staff {
		e, err := data.NormalizeAddress("staff", s)
		switch {
		case err != nil:
			c.add(fmt.Sprintf("notifier.staff[%d]", i), "%q is not an email address such as oncall@example.com", s)
		case seen[strings.ToLower(e)]:
			c.add(fmt.Sprintf("notifier.staff[%d]", i), "%q is listed twice", s)
		default:
			seen[strings.ToLower(e)] = true
			n.Staff = append(n.Staff, e)
		}
	}
	n.ComponentChanges = ComponentChangesConfig{Email: "none", Webhook: "all"}
	if cc := raw.ComponentChanges; cc != nil {
		pick := func(path string, v *string, def string) string {
			if v == nil {
				return def
			}
			switch *v {
			case "all", "override", "none":
				return *v
			}
			c.add(path, "%q must be all, override or none", *v)
			return def
		}
		n.ComponentChanges.Email = pick("notifier.component_changes.email", cc.Email, "none")
		n.ComponentChanges.Webhook = pick("notifier.component_changes.webhook", cc.Webhook, "all")
	}
	n.ConfirmTTL = c.duration("notifier.confirm_ttl", raw.ConfirmTTL, durationRange{def: 48 * time.Hour, min: time.Minute, max: 30 * day, example: "48h, 7d"})
	n.DisableAfter = c.duration("notifier.disable_after", raw.DisableAfter, durationRange{def: 5 * day, min: time.Hour, max: 365 * day, example: "5d"})
	n.WarnAfter = c.duration("notifier.warn_after", raw.WarnAfter, durationRange{def: day, min: 10 * time.Minute, max: 365 * day, example: "1d"})
	if n.WarnAfter >= n.DisableAfter && raw.WarnAfter != nil {
		c.add("notifier.warn_after", "must be shorter than notifier.disable_after (%s), or the owner is never warned", formatDuration(n.DisableAfter))
	}
	n.PerIP, n.PerAddress = 20, 3
	if rl := raw.RateLimit; rl != nil {
		n.PerIP = c.intRange("notifier.rate_limit.per_ip", rl.PerIP, 20, 1, 1000000, " requests per hour")
		n.PerAddress = c.intRange("notifier.rate_limit.per_address", rl.PerAddress, 3, 1, 1000, " mails per hour")
	}
	if raw.Email == nil {
		return
	}
	re := raw.Email
	e := &EmailConfig{Port: 587, TLS: "starttls"}
	if re.Host == nil || *re.Host == "" {
		c.missing("notifier.email", "host")
	} else if !hostnamePattern.MatchString(*re.Host) && net.ParseIP(*re.Host) == nil {
		c.add("notifier.email.host", "%q is not a host name such as smtp.example.com", *re.Host)
	} else {
		e.Host = *re.Host
	}
	e.Port = c.intRange("notifier.email.port", re.Port, 587, 1, 65535, "")
	if re.TLS != nil {
		switch *re.TLS {
		case "starttls", "tls", "none":
			e.TLS = *re.TLS
		default:
			c.add("notifier.email.tls", "%q must be starttls (port 587), tls (implicit, port 465) or none", *re.TLS)
		}
	} else if e.Port == 465 {
		e.TLS = "tls"
	}
	if re.Username != nil {
		e.Username = *re.Username
	}
	e.Password = c.secret("notifier.email.password", re.Password, envSMTPPassword)
	if e.Username != "" && e.Password == "" && (re.Password == nil || !envReference.MatchString(*re.Password)) {
		c.add("notifier.email", "username is set but password is not (set it here as ${NAME} or in %s)", envSMTPPassword)
	}
	if re.From == nil || *re.From == "" {
		c.missing("notifier.email", "from")
	} else if _, err := mail.ParseAddress(*re.From); err != nil {
		c.add("notifier.email.from", "%q is not an email address such as \"Acme Status <status@acme.example>\" (%v)", *re.From, err)
	} else {
		e.From = *re.From
	}
	e.Concurrency = c.intRange("notifier.email.concurrency", re.Concurrency, 4, 1, 256, " connections")
	e.Timeout = c.duration("notifier.email.timeout", re.Timeout, durationRange{def: 30 * time.Second, min: 0, minExclusive: true, max: 10 * time.Minute})
	n.Email = e
}
