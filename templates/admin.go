package templates

import "embed"

// AdminFS holds the admin UI's templates under admin/: the layout, sign-in,
// dashboard, component, users, API tokens, audit log and error pages.
//
//go:embed admin/*.html
var AdminFS embed.FS
