package server

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/statusd/statusd/data"
)

// servePublic answers every public GET and HEAD from the current snapshot.
// It never touches the store for a document of the snapshot: it picks
// prebuilt bytes by path and Accept-Encoding and copies them. Only the page
// of an incident older than the snapshot may be read from the store, once,
// through the archive.
func (s *Server) servePublic(c *fiber.Ctx) error {
	snap := s.snap.Load()
	p := c.Path()
	if len(p) > 1 && p[len(p)-1] == '/' {
		p = strings.TrimRight(p, "/")
		if p == "" {
			p = "/"
		}
	}
	e := snap.entries[p]
	if e == nil {
		if id, ok := incidentPath(p); ok && s.archive.known(id) {
			// c.Path() points into fasthttp's buffer, which the next
			// request reuses; the archive keeps the id.
			return s.serveArchived(c, snap, strings.Clone(id))
		}
		if strings.HasPrefix(p, "/api/") {
			e = snap.notFoundJSON
		} else {
			e = snap.notFoundHTML
		}
	}
	writeEntry(c, e)
	return nil
}

// serveArchived answers for the page of an incident that is not in the
// snapshot, from the archive's cache or rendered from the store.
func (s *Server) serveArchived(c *fiber.Ctx, snap *snapshot, id string) error {
	e, err := s.archive.load(id, snap.pageKey, func(ctx context.Context) (*entry, error) {
		in, err := s.store.Incident(ctx, id)
		if err != nil {
			return nil, err
		}
		key := incidentKey(snap.model, newKeyHash().any(in).sum())
		d, err := s.incidentDoc(snap.model, in, key, snap.pageSince)
		if err != nil {
			return nil, err
		}
		return s.makeEntry(d, nil, s.opts.Now()), nil
	})
	switch {
	case errors.Is(err, data.ErrNotFound):
		e = snap.notFoundHTML
	case err != nil:
		if e = s.archive.stale(id); e == nil {
			s.log.Warn("read an archived incident", "id", id, "err", err)
			return fiber.ErrServiceUnavailable
		}
	}
	writeEntry(c, e)
	return nil
}

// writeEntry writes e, choosing brotli, gzip or identity, or answers 304 when
// the client's copy is current.
func writeEntry(c *fiber.Ctx, e *entry) {
	body, etag, enc := e.plain, e.etagB, []byte(nil)
	if ae := c.Get(fiber.HeaderAcceptEncoding); ae != "" {
		switch {
		case e.br != nil && acceptsEncoding(ae, "br"):
			body, etag, enc = e.br, e.etagBrB, encBrotli
		case e.gz != nil && acceptsEncoding(ae, "gzip"):
			body, etag, enc = e.gz, e.etagGzB, encGzip
		}
	}
	h := &c.Response().Header
	for _, kv := range e.headers {
		h.SetCanonical(kv.key, kv.value)
	}
	h.SetCanonical(hdrETag, etag)
	if e.status == http.StatusOK && notModified(c, e) {
		c.Status(http.StatusNotModified)
		c.Response().ResetBody()
		return
	}
	h.SetContentTypeBytes(e.contentTypeB)
	if enc != nil {
		h.SetCanonical(hdrContentEncoding, enc)
	}
	c.Status(e.status)
	// The snapshot's bytes are never modified after they are built, so the
	// response can point at them rather than copy them.
	c.Response().SetBodyRaw(body)
}

var (
	hdrETag            = []byte("ETag")
	hdrContentEncoding = []byte("Content-Encoding")
	encBrotli          = []byte("br")
	encGzip            = []byte("gzip")
)

// notModified applies If-None-Match, or If-Modified-Since when there is no
// If-None-Match (RFC 9110 section 13.2.2). Any encoding's validator matches:
// the representations differ only in content coding.
func notModified(c *fiber.Ctx, e *entry) bool {
	if inm := c.Get(fiber.HeaderIfNoneMatch); inm != "" {
		for _, t := range strings.Split(inm, ",") {
			t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
			if t == "*" || t == e.etag || t == e.etagGz || t == e.etagBr {
				return true
			}
		}
		return false
	}
	if ims := c.Get(fiber.HeaderIfModifiedSince); ims != "" {
		t, err := http.ParseTime(ims)
		return err == nil && !e.lastModified.After(t)
	}
	return false
}

// acceptsEncoding reports whether an Accept-Encoding header value accepts
// coding with a non-zero quality, directly or through "*".
func acceptsEncoding(header, coding string) bool {
	star := false
	for len(header) > 0 {
		var part string
		part, header, _ = strings.Cut(header, ",")
		name, params, _ := strings.Cut(part, ";")
		name = strings.TrimSpace(name)
		q := 1.0
		for params != "" {
			var p string
			p, params, _ = strings.Cut(params, ";")
			k, v, ok := strings.Cut(strings.TrimSpace(p), "=")
			if ok && strings.EqualFold(strings.TrimSpace(k), "q") {
				f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
				if err != nil || f < 0 || f > 1 {
					f = 0
				}
				q = f
			}
		}
		if strings.EqualFold(name, coding) {
			return q > 0
		}
		if name == "*" {
			star = q > 0
		}
	}
	return star
}
