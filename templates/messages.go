package templates

import "embed"

// MessagesFS holds the built-in incident and maintenance message templates
// under messages/: one file per situation, a header of "key: value" lines,
// a line "---" and a Markdown body, each part a text/template.
//
//go:embed messages/*.md
var MessagesFS embed.FS
