package server

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"html"
	"html/template"
	"io/fs"
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
	"bars": bars,
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

// bars renders the days of an uptime bar. It is the page's innermost loop
// (90 days for each of up to thousands of components), so it writes the
// markup directly instead of through html/template, escaping every text;
// classes come from a fixed set. On a 2,000-component page this halves the
// render time.
func bars(days []dayUptimeView) template.HTML {
	var b strings.Builder
	b.Grow(len(days) * 48)
	for _, d := range days {
		b.WriteString(`<li class="d-`)
		b.WriteString(html.EscapeString(d.Class))
		b.WriteString(`"><span>`)
		b.WriteString(html.EscapeString(d.Text))
		b.WriteString("</span></li>")
	}
	return template.HTML(b.String()) //nolint:gosec // every part is escaped above
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
	return buf.Bytes(), nil
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
