package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"strings"

	"github.com/statusd/statusd/notifier"
	"github.com/statusd/statusd/server"
)

// startNotifier builds the delivery engine from the configuration, starts
// it, and prepares the subscribe flow's options for the web server; it does
// nothing when the notifier is disabled.
func (m *Main) startNotifier(ctx context.Context) error {
	so, err := m.newNotifier(ctx)
	if err != nil || so == nil {
		return err
	}
	m.subscribe = so
	return m.Notifier.Start(ctx)
}

func (m *Main) newNotifier(ctx context.Context) (*server.SubscribeOptions, error) {
	cfg := m.Config
	nc := cfg.Notifier
	if nc.Disabled {
		m.Logger.Info("notifier disabled: no subscriptions, no deliveries")
		return nil, nil
	}
	if err := m.Store.SyncStaff(ctx, nc.Staff); err != nil {
		return nil, fmt.Errorf("sync staff addresses: %w", err)
	}
	allow, err := notifier.ParseAllowlist(nc.Webhooks.Allow)
	if err != nil {
		return nil, err
	}
	o := notifier.Options{
		Page: notifier.Page{ID: cfg.Page.ID, Name: cfg.Page.Name, URL: cfg.Page.URL, Location: cfg.Page.Location, Language: cfg.Page.Language},
		From: nc.From, Allow: allow, WebhookTimeout: nc.Webhooks.Timeout,
		EmailWorkers: nc.EmailWorkers, WebhookWorkers: nc.Webhooks.Workers, WebhookPerHost: nc.Webhooks.PerHost,
		DisableAfter: nc.DisableAfter,
		WarnAfter:    nc.WarnAfter,
		ComponentChanges: notifier.ComponentChanges{Email: notifier.ChangePolicy(nc.ComponentChanges.Email),
			Webhook: notifier.ChangePolicy(nc.ComponentChanges.Webhook)},
		Logger: m.Logger, Registerer: m.Registry,
	}
	if e := nc.Email; e != nil {
		o.From = e.From
		o.Mailer, err = notifier.NewSMTPMailer(notifier.SMTPOptions{Host: e.Host, Port: e.Port, TLS: notifier.TLSMode(e.TLS),
			Username: e.Username, Password: e.Password, Concurrency: e.Concurrency, Timeout: e.Timeout})
		if err != nil {
			return nil, err
		}
	} else {
		o.EMLDir = nc.EMLDir
		if o.EMLDir == "" {
			o.EMLDir = filepath.Join(filepath.Dir(cfg.Database.Path), "mail")
		}
	}
	if o.From == "" {
		o.From = defaultFrom(cfg.Page.Name, cfg.Page.URL)
	}
	m.Notifier, err = notifier.New(m.Store, o)
	if err != nil {
		return nil, err
	}
	resolver := net.DefaultResolver
	return &server.SubscribeOptions{
		Store: m.Store, Mailer: m.Notifier,
		ValidateWebhookURL: func(ctx context.Context, raw string) (string, error) {
			return allow.ValidateURL(ctx, resolver, raw)
		},
		ConfirmTTL: nc.ConfirmTTL, SecretOverlap: m.Notifier.SecretOverlap(),
		PerIP: nc.PerIP, PerAddress: nc.PerAddress,
	}, nil
}

// defaultFrom is the sender when none is configured: the page's name at
// status@ the page's host.
func defaultFrom(name, pageURL string) string {
	host := "localhost"
	if u, err := url.Parse(pageURL); err == nil && u.Hostname() != "" {
		host = u.Hostname()
	}
	name = strings.NewReplacer(`"`, "", `\`, "").Replace(name)
	return fmt.Sprintf("%q <status@%s>", name+" Status", host)
}

// stopNotifier lets sends in flight finish (bounded by ctx) and puts back
// what was claimed but not sent.
func (m *Main) stopNotifier(ctx context.Context) error {
	if m.Notifier == nil {
		return nil
	}
	if err := m.Notifier.Stop(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return fmt.Errorf("stop notifier: %w", err)
	}
	return nil
}
