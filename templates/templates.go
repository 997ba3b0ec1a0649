// Package templates owns the embedded html/template files of statusd's public
// pages (page/*.html): the status page, the incident history, an incident's
// page and the error page, with the layout they share; the page about
// embedding (embed.html) and the framed status (embed_frame.html). Admin, email and
// incident message templates will live here too.
//
// It holds files only: parsing, the FuncMap and the view structs the
// templates receive belong to the server package.
package templates

import "embed"

// FS holds the public page templates under page/.
//
//go:embed page/*.html
var FS embed.FS
