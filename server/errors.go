package server

import (
	"bytes"
	"errors"
	"html/template"
	"log/slog"
	"net/http"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/statusd/statusd/data"
)

// HTTPError is what a failed request shows its user: a status code, a short
// message fit to show anyone, and for invalid input the field at fault.
type HTTPError struct {
	Code    int
	Message string
	Field   string // set for data.InvalidError with a field
}

// ErrorPage renders the HTML body of an error response, for a fiber app whose
// pages have their own look. Returning an error falls back to the plain
// built-in page.
type ErrorPage func(c *fiber.Ctx, e HTTPError) ([]byte, error)

// ErrorFor maps err to what the user sees, and reports whether err is an
// internal failure (to be logged; its text never reaches the user):
//
//   - *data.InvalidError: 400 with its field and reason
//   - data.ErrNotFound: 404; data.ErrConflict: 409; data.ErrClosed: 503
//   - *fiber.Error: its code, and the status text as the message
//   - anything else: 500 "internal error"
func ErrorFor(err error) (e HTTPError, internal bool) {
	var (
		inv *data.InvalidError
		fe  *fiber.Error
	)
	switch {
	case errors.As(err, &inv):
		return HTTPError{Code: http.StatusBadRequest, Message: inv.Reason, Field: inv.Field}, false
	case errors.Is(err, data.ErrNotFound):
		return HTTPError{Code: http.StatusNotFound, Message: "not found"}, false
	case errors.Is(err, data.ErrConflict):
		return HTTPError{Code: http.StatusConflict, Message: "conflict"}, false
	case errors.Is(err, data.ErrClosed):
		return HTTPError{Code: http.StatusServiceUnavailable, Message: "service unavailable"}, false
	case errors.As(err, &fe):
		msg := strings.ToLower(http.StatusText(fe.Code))
		if msg == "" {
			msg = "error"
		}
		return HTTPError{Code: fe.Code, Message: msg}, fe.Code >= 500
	}
	return HTTPError{Code: http.StatusInternalServerError, Message: "internal error"}, true
}

// ErrorHandler returns the fiber.Config.ErrorHandler of a statusd app: the
// one place where an error returned by a handler becomes a response. Routes
// under /api/, and requests that accept JSON, get {"error": …, "field": …};
// pages get HTML, from page when it is not nil. Internal errors are logged
// to log with the method and path; responses are never cached.
func ErrorHandler(log *slog.Logger, page ErrorPage) fiber.ErrorHandler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return func(c *fiber.Ctx, err error) error {
		e, internal := ErrorFor(err)
		if internal {
			log.Error("request failed", "method", c.Method(), "path", c.Path(), "code", e.Code, "err", err)
		}
		c.Set(fiber.HeaderCacheControl, "no-store")
		c.Set(fiber.HeaderXContentTypeOptions, "nosniff")
		if e.Code == http.StatusServiceUnavailable {
			c.Set(fiber.HeaderRetryAfter, "5")
		}
		if wantsJSON(c) {
			return c.Status(e.Code).JSON(apiError{Field: e.Field, Message: e.Message})
		}
		c.Set(fiber.HeaderContentSecurityPolicy, contentSecurityPolicy)
		c.Set(fiber.HeaderContentType, fiber.MIMETextHTMLCharsetUTF8)
		if page != nil {
			b, perr := page(c, e)
			if perr == nil {
				return c.Status(e.Code).Send(b)
			}
			log.Error("render error page", "code", e.Code, "err", perr)
		}
		return c.Status(e.Code).Send(plainErrorPage(e))
	}
}

// apiError is the JSON body of an error response.
type apiError struct {
	Field   string `json:"field,omitempty"`
	Message string `json:"error"`
}

// wantsJSON reports whether the response to c is JSON rather than a page.
func wantsJSON(c *fiber.Ctx) bool {
	return strings.HasPrefix(c.Path(), "/api/") || strings.Contains(c.Get(fiber.HeaderAccept), "json")
}

// plainPage is the error page of apps without their own: complete on its
// own, without styles or scripts (the Content-Security-Policy allows none
// inline).
var plainPage = template.Must(template.New("error").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}</title>
</head>
<body>
<main>
<h1>{{.Title}}</h1>
<p>{{if .Field}}{{.Field}}: {{end}}{{.Message}}</p>
<p><a href="/">Go to the status page</a></p>
</main>
</body>
</html>
`))

func plainErrorPage(e HTTPError) []byte {
	title := http.StatusText(e.Code)
	if title == "" {
		title = "Error"
	}
	var b bytes.Buffer
	// The template and its fields are fixed; Execute can fail only on a
	// write to b, which does not fail.
	_ = plainPage.Execute(&b, struct{ Title, Message, Field string }{title, e.Message, e.Field})
	return b.Bytes()
}
