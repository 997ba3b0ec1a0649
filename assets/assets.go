// Package assets owns the static files of the public pages: the stylesheet
// (css/style.css) and the optional script (js/app.js) that localises times
// and refreshes the page; the status widget other sites embed (js/embed.js)
// and the stylesheet it shares with the framed status (css/embed.css,
// css/embed-frame.css); and the /embed page's own (css/embed-page.css,
// js/embed-page.js).
//
// It holds files only: the server package reads them once at start, hashes
// them into immutable URLs and serves them.
package assets

import "embed"

// FS holds css/ and js/.
//
//go:embed css js
var FS embed.FS
