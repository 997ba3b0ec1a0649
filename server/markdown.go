package server

import (
	"bytes"
	"net/url"
	"strconv"
	"strings"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/extension"
	"github.com/yuin/goldmark/renderer/html"
	"github.com/yuin/goldmark/text"

	"github.com/statusd/statusd/data"
)

// Message bodies are a safe subset of Markdown (CommonMark via goldmark):
// paragraphs, emphasis, lists, quotes, code, links and bare URLs. Raw HTML
// is refused (goldmark's renderer would drop it, but a person who typed it
// should know it will not show), as are images and links other than http,
// https and mailto. Headings become bold paragraphs, so a message cannot
// break the page's outline. A body is rendered once, when it is published,
// into the HTML the page shows and the plain text the API, feeds, email and
// webhooks carry.

var markdown = goldmark.New(
	goldmark.WithExtensions(extension.Linkify, extension.Strikethrough),
	// Unsafe stays off: raw HTML never reaches the output. Hard wraps keep
	// a typed line break a line break, as the page showed plain bodies.
	goldmark.WithRendererOptions(html.WithHardWraps()),
)

// renderMarkdown renders a message body. Returns an *data.InvalidError
// (field "body") naming what is not allowed.
func renderMarkdown(src string) (data.RenderedBody, error) {
	return renderMarkdownField("body", src)
}

func renderMarkdownField(field, src string) (data.RenderedBody, error) {
	if err := data.ValidateText(field, src, data.MaxBodyLength, true, true); err != nil {
		return data.RenderedBody{}, err
	}
	source := []byte(strings.ReplaceAll(src, "\r\n", "\n"))
	doc := markdown.Parser().Parse(text.NewReader(source))
	var headings []*ast.Heading
	var problem error
	_ = ast.Walk(doc, func(n ast.Node, entering bool) (ast.WalkStatus, error) { // the walker returns no error of its own
		if !entering {
			return ast.WalkContinue, nil
		}
		switch n := n.(type) {
		case *ast.RawHTML, *ast.HTMLBlock:
			problem = data.Invalid(field, "contains HTML, which is not allowed: use Markdown (**bold**, *italic*, [text](https://…), - lists)")
		case *ast.Image:
			problem = data.Invalid(field, "contains an image, which is not allowed; link to it instead")
		case *ast.Link:
			if !safeLink(string(n.Destination)) {
				problem = data.Invalid(field, "links to %q: links must start with https://, http:// or mailto:", string(n.Destination))
			}
		case *ast.AutoLink:
			if u := string(n.URL(source)); !safeLink(u) && !strings.HasPrefix(strings.ToLower(u), "www.") && !strings.Contains(u, "@") {
				problem = data.Invalid(field, "links to %q: links must start with https://, http:// or mailto:", u)
			}
		case *ast.Heading:
			headings = append(headings, n)
		}
		if problem != nil {
			return ast.WalkStop, nil
		}
		return ast.WalkContinue, nil
	})
	if problem != nil {
		return data.RenderedBody{}, problem
	}
	for _, h := range headings {
		p := ast.NewParagraph()
		strong := ast.NewEmphasis(2)
		for c := h.FirstChild(); c != nil; {
			next := c.NextSibling()
			strong.AppendChild(strong, c)
			c = next
		}
		p.AppendChild(p, strong)
		p.SetLines(h.Lines())
		h.Parent().ReplaceChild(h.Parent(), h, p)
	}
	var b bytes.Buffer
	if err := markdown.Renderer().Render(&b, source, doc); err != nil {
		return data.RenderedBody{}, data.Invalid(field, "could not be rendered")
	}
	var t strings.Builder
	plainBlocks(&t, doc, source, "")
	return data.RenderedBody{HTML: strings.TrimSpace(b.String()), Text: strings.TrimSpace(t.String())}, nil
}

// safeLink reports whether a link destination may appear in a message.
func safeLink(dest string) bool {
	u, err := url.Parse(strings.TrimSpace(dest))
	if err != nil {
		return false
	}
	switch strings.ToLower(u.Scheme) {
	case "http", "https":
		return u.Host != ""
	case "mailto":
		return u.Opaque != ""
	}
	return false
}

// plainBlocks writes the blocks under n as plain text: paragraphs separated
// by blank lines, list items as "- " or "1. ", quotes as "> ", links as
// "text (url)".
func plainBlocks(w *strings.Builder, n ast.Node, src []byte, prefix string) {
	for c := n.FirstChild(); c != nil; c = c.NextSibling() {
		switch c := c.(type) {
		case *ast.List:
			i := c.Start
			if i == 0 {
				i = 1
			}
			for item := c.FirstChild(); item != nil; item = item.NextSibling() {
				mark := "- "
				if c.IsOrdered() {
					mark = strconv.Itoa(i) + ". "
					i++
				}
				var sub strings.Builder
				plainBlocks(&sub, item, src, "")
				lines := strings.Split(strings.TrimSpace(sub.String()), "\n")
				for k, l := range lines {
					if k == 0 {
						w.WriteString(prefix + mark + l + "\n")
					} else if l != "" {
						w.WriteString(prefix + strings.Repeat(" ", len(mark)) + l + "\n")
					}
				}
			}
			w.WriteString(prefix + "\n")
		case *ast.Blockquote:
			plainBlocks(w, c, src, prefix+"> ")
		case *ast.FencedCodeBlock, *ast.CodeBlock:
			lines := c.Lines()
			for i := 0; i < lines.Len(); i++ {
				seg := lines.At(i)
				w.WriteString(prefix + strings.TrimRight(string(seg.Value(src)), "\n") + "\n")
			}
			w.WriteString(prefix + "\n")
		case *ast.ThematicBreak:
			w.WriteString(prefix + "---\n\n")
		case *ast.Paragraph, *ast.TextBlock:
			var in strings.Builder
			plainInline(&in, c, src)
			for _, l := range strings.Split(strings.TrimSpace(in.String()), "\n") {
				w.WriteString(prefix + l + "\n")
			}
			if _, tight := c.(*ast.TextBlock); !tight {
				w.WriteString(prefix + "\n")
			}
		default:
			plainBlocks(w, c, src, prefix)
		}
	}
}

func plainInline(w *strings.Builder, n ast.Node, src []byte) {
	for c := n.FirstChild(); c != nil; c = c.NextSibling() {
		switch c := c.(type) {
		case *ast.Text:
			w.Write(c.Segment.Value(src))
			if c.SoftLineBreak() || c.HardLineBreak() {
				w.WriteString("\n")
			}
		case *ast.String:
			w.Write(c.Value)
		case *ast.AutoLink:
			w.Write(c.URL(src))
		case *ast.Link:
			var label strings.Builder
			plainInline(&label, c, src)
			w.WriteString(label.String())
			if dest := string(c.Destination); dest != label.String() && "mailto:"+label.String() != dest {
				w.WriteString(" (" + dest + ")")
			}
		default:
			plainInline(w, c, src)
		}
	}
}
