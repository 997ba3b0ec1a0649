// Package assets owns the static files of the public pages: the stylesheet
// (css/style.css) and the optional script (js/app.js) that localises times
// and refreshes the page.
//
// It holds files only: the server package reads them once at start, hashes
// them into immutable URLs and serves them.
package assets

import "embed"

// FS holds css/ and js/.
//
//go:embed css js
var FS embed.FS
