// Package templates owns the embedded template files of statusd: the public
// pages (page/*.html: the status page, the incident history, an incident's
// page, the error page, the subscribe flow, the page about embedding
// (embed.html) and the framed status (embed_frame.html), with the layout
// they share) and the email messages (email/: a plain-text and an HTML
// part). Admin and incident message templates will live here too.
//
// It holds files only: parsing, the FuncMap and the view structs the
// templates receive belong to the packages that render them (server for
// pages, notifier for email).
package templates

import "embed"

// FS holds the public page templates under page/ and the email templates
// under email/.
//
//go:embed page/*.html email/*
var FS embed.FS
