package server

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"html"
	"html/template"
	"io/fs"
	"strconv"
	"strings"

	"github.com/statusd/statusd/assets"
	"github.com/statusd/statusd/templates"
)

// pageTemplates are the names renderPage is called with, each a file in
// templates/page executed with a *pageView.
var pageTemplates = []string{"index.html", "history.html", "incident.html", "error.html"}

// pageFuncs is the FuncMap of the page templates. It stays small: the view
// structs arrive formatted, so templates only lay them out.
var pageFuncs = template.FuncMap{
	"bars":   bars,
	"detail": uptimeDetailOf,
	// lines splits text on newlines, so a template can join the lines with
	// <br> and html/template still escapes every one of them.
	"lines": func(s string) []string {
		return strings.Split(strings.ReplaceAll(s, "\r\n", "\n"), "\n")
	},
	// dir is the writing direction of a BCP 47 language, for <html dir>.
	"dir": func(lang string) string {
		base, _, _ := strings.Cut(strings.ToLower(lang), "-")
		switch base {
		case "ar", "ckb", "dv", "fa", "he", "ps", "sd", "ug", "ur", "yi":
			return "rtl"
		}
		return "ltr"
	},
}

// dayRun is a stretch of consecutive days of an uptime bar that read the
// same: a run of fully operational days, of days without data, or a single
// day with its own figures.
type dayRun struct {
	Start, Len int    // index of the first day, number of days
	When       string // "3 Nov 2026", or "24 Aug 2026 to 2 Sep 2026"
	Class      string // ok, degraded, partial, major, maint, none
	Text       string // e.g. "99.21% uptime; partial outage 1 h 20 min"
}

// dayRuns groups days that have the same class and text.
func dayRuns(days []dayUptimeView) []dayRun {
	var out []dayRun
	for i, d := range days {
		if n := len(out); n > 0 && out[n-1].Class == d.Class && out[n-1].Text == d.Text {
			out[n-1].Len++
			out[n-1].When = days[out[n-1].Start].Date + " to " + d.Date
			continue
		}
		out = append(out, dayRun{Start: i, Len: 1, When: d.Date, Class: d.Class, Text: d.Text})
	}
	return out
}

// bars draws an uptime bar as one inline SVG: a rectangle per run of days
// that read the same (so a quiet quarter is one rectangle), each with its
// text as a tooltip, and a pattern laid over them for the gaps between
// days. The SVG is hidden from assistive technology: the legend and the
// list of days with issues say the same in text. It is the page's innermost
// loop (up to thousands of components), so it writes the markup directly
// instead of through html/template, escaping every text; classes come from
// a fixed set.
func bars(days []dayUptimeView) template.HTML {
	var b strings.Builder
	b.Grow(200)
	n := strconv.Itoa(len(days))
	b.WriteString(`<svg class="bar" viewBox="0 0 `)
	b.WriteString(n)
	b.WriteString(` 1" preserveAspectRatio="none" aria-hidden="true">`)
	for _, r := range dayRuns(days) {
		b.WriteString(`<rect class="d-`)
		b.WriteString(html.EscapeString(r.Class))
		if r.Start > 0 {
			b.WriteString(`" x="`)
			b.WriteString(strconv.Itoa(r.Start))
		}
		b.WriteString(`" width="`)
		b.WriteString(strconv.Itoa(r.Len))
		b.WriteString(`" height="1"><title>`)
		b.WriteString(html.EscapeString(r.When))
		b.WriteString(": ")
		b.WriteString(html.EscapeString(r.Text))
		b.WriteString("</title></rect>")
	}
	b.WriteString(`<rect class="gaps" width="`)
	b.WriteString(n)
	b.WriteString(`" height="1"/></svg>`)
	return template.HTML(b.String()) //nolint:gosec // every part is escaped above
}

// uptimeDetail is the text form of an uptime bar's days that were not fully
// operational, for a <details> under the bar.
type uptimeDetail struct {
	Summary string   // e.g. "2 days with issues, 10 without data"
	Runs    []dayRun // oldest first; runs of operational days left out
}

// uptimeDetailOf returns the detail of days, or nil when every day was
// operational.
func uptimeDetailOf(days []dayUptimeView) *uptimeDetail {
	d := &uptimeDetail{}
	var issues, noData int
	for _, r := range dayRuns(days) {
		switch r.Class {
		case "ok":
			continue
		case "none":
			noData += r.Len
		default:
			issues += r.Len
		}
		d.Runs = append(d.Runs, r)
	}
	if len(d.Runs) == 0 {
		return nil
	}
	plural := func(n int, one, many string) string {
		if n == 1 {
			return "1 " + one
		}
		return strconv.Itoa(n) + " " + many
	}
	switch {
	case issues > 0 && noData > 0:
		d.Summary = plural(issues, "day with issues", "days with issues") + ", " + strconv.Itoa(noData) + " without data"
	case issues > 0:
		d.Summary = plural(issues, "day with issues", "days with issues")
	default:
		d.Summary = plural(noData, "day without data", "days without data")
	}
	return d
}

// parsePageTemplates parses every page template once. It returns an error if
// one is broken or one of pageTemplates is missing, so the server can refuse
// to start.
func parsePageTemplates() (*template.Template, error) {
	t, err := template.New("page").Funcs(pageFuncs).ParseFS(templates.FS, "page/*.html")
	if err != nil {
		return nil, fmt.Errorf("parse page templates: %w", err)
	}
	for _, name := range pageTemplates {
		if t.Lookup(name) == nil {
			return nil, fmt.Errorf("parse page templates: %s is missing", name)
		}
	}
	return t, nil
}

// renderPage executes the page template name with v.
func renderPage(t *template.Template, name string, v *pageView) ([]byte, error) {
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, name, v); err != nil {
		return nil, fmt.Errorf("render %s: %w", name, err)
	}
	if b := buf.Bytes(); cap(b) <= len(b)+len(b)/4 {
		return b, nil
	}
	// The page is kept until it changes, and the buffer may have grown
	// to twice its size.
	return bytes.Clone(buf.Bytes()), nil
}

// asset is a static file served at a content-hashed, immutable Path.
type asset struct {
	Path        string
	Body        []byte
	ContentType string
}

// loadAssets reads the stylesheet and the script from assets.FS. A non-empty
// accent (one CheckAccentColor accepts, else an error) is appended to the
// stylesheet as the --accent custom property, which colours links and the
// header in light mode.
func loadAssets(accent string) (css, js asset, err error) {
	if accent != "" {
		if accent, err = CheckAccentColor(accent); err != nil {
			return css, js, fmt.Errorf("load assets: %w", err)
		}
	}
	if css, err = readAsset("css/style.css", "/assets/style.", ".css", "text/css; charset=utf-8"); err != nil {
		return css, js, err
	}
	if accent != "" {
		css.Body = append(css.Body, ":root{--accent:"+accent+"}\n"...)
		css.Path = hashedPath("/assets/style.", ".css", css.Body)
	}
	js, err = readAsset("js/app.js", "/assets/app.", ".js", "text/javascript; charset=utf-8")
	return css, js, err
}

func readAsset(name, prefix, ext, contentType string) (asset, error) {
	b, err := fs.ReadFile(assets.FS, name)
	if err != nil {
		return asset{}, fmt.Errorf("load asset %s: %w", name, err)
	}
	return asset{Path: hashedPath(prefix, ext, b), Body: b, ContentType: contentType}, nil
}

// hashedPath names a file by its content, so it can be cached for ever.
func hashedPath(prefix, ext string, body []byte) string {
	sum := sha256.Sum256(body)
	return prefix + hex.EncodeToString(sum[:5]) + ext
}
