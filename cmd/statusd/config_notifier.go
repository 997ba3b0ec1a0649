package main

import (
	"net"
	"net/mail"
)

// NotifierConfig holds the delivery channels.
type NotifierConfig struct {
	Email *EmailConfig // nil when email is not configured
}

// EmailConfig is the SMTP relay used to send mail.
type EmailConfig struct {
	Host     string
	Port     int
	Username string
	Password string
	From     string // an RFC 5322 address, checked with net/mail
}

type rawNotifier struct {
	Email *rawEmail `yaml:"email"`
}

type rawEmail struct {
	Host     *string `yaml:"host"`
	Port     *int    `yaml:"port"`
	Username *string `yaml:"username"`
	Password *string `yaml:"password"`
	From     *string `yaml:"from"`
}

// envSMTPPassword, when set, replaces notifier.email.password.
const envSMTPPassword = "STATUSD_SMTP_PASSWORD"

func (c *checker) notifier(file *rawConfig, cfg *Config) {
	raw, n := &file.Notifier, &cfg.Notifier
	if raw.Email == nil {
		return
	}
	re := raw.Email
	e := &EmailConfig{Port: 587}
	if re.Host == nil || *re.Host == "" {
		c.missing("notifier.email", "host")
	} else if !hostnamePattern.MatchString(*re.Host) && net.ParseIP(*re.Host) == nil {
		c.add("notifier.email.host", "%q is not a host name such as smtp.example.com", *re.Host)
	} else {
		e.Host = *re.Host
	}
	e.Port = c.intRange("notifier.email.port", re.Port, 587, 1, 65535, "")
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
	n.Email = e
}
