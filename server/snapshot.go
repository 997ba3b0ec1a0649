package server

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/gzip"
)

// snapshot is one immutable rendering of every public document. Requests
// read it through an atomic pointer and only copy its bytes; a rebuild makes a
// new snapshot and swaps the pointer.
type snapshot struct {
	entries map[string]*entry
	notFoundHTML,
	notFoundJSON *entry
}

// entry is one document in three encodings, with every response header it
// needs already formatted.
type entry struct {
	status       int
	contentType  string
	contentTypeB []byte
	hash         [sha256.Size]byte // of plain
	plain        []byte
	gz, br       []byte
	// The strong validators differ per encoding, as RFC 9110 asks of
	// representations with different content codings.
	etag, etagGz, etagBr    string
	etagB, etagGzB, etagBrB []byte // the same, as bytes for the response
	lastModified            time.Time
	lastModifiedText        string
	headers                 []header // sent with every response for this entry
}

// header is a response header in the bytes fasthttp stores, so that serving
// an entry copies them instead of normalising names at every request.
type header struct{ key, value []byte }

// docKind chooses the headers a document gets.
type docKind int

const (
	kindHTML docKind = iota
	kindJSON
	kindFeed
	kindAsset
	kindOwn // only the cache headers and doc.headers (embeds and badges)
)

// doc is a rendered document before compression.
type doc struct {
	path        string
	kind        docKind
	status      int
	contentType string
	body        []byte
	tags        []string    // surrogate keys for purging, besides the defaults
	headers     [][2]string // more response headers, after those of its kind
	// identityOnly skips precompression: for the thousands of badges of a
	// large page, each smaller than a kilobyte.
	identityOnly bool
}

// cacheHeaders formats the Cache-Control family for public documents.
//
// Browsers get max-age with stale-while-revalidate and stale-if-error
// (RFC 5861). CDNs get their own, longer lifetime through CDN-Cache-Control
// (RFC 9213) and Surrogate-Control rather than s-maxage: s-maxage implies
// proxy-revalidate, which forbids a shared cache from serving stale content
// when the origin fails, and serving stale then is the point.
type cacheHeaders struct {
	browser, cdn, surrogate string
}

func newCacheHeaders(p CachePolicy) cacheHeaders {
	sec := func(d time.Duration) int64 { return int64(d / time.Second) }
	ext := fmt.Sprintf("stale-while-revalidate=%d, stale-if-error=%d", sec(p.StaleWhileRevalidate), sec(p.StaleIfError))
	return cacheHeaders{
		browser:   fmt.Sprintf("public, max-age=%d, %s", sec(p.MaxAge), ext),
		cdn:       fmt.Sprintf("public, max-age=%d, %s", sec(p.CDNMaxAge), ext),
		surrogate: fmt.Sprintf("max-age=%d, %s", sec(p.CDNMaxAge), ext),
	}
}

// contentSecurityPolicy allows nothing but the page's own stylesheet, script
// and images, and forbids framing.
const contentSecurityPolicy = "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// makeEntry compresses d and formats its headers. If prev holds the same
// bytes, its compressed forms and Last-Modified are reused: unchanged
// documents cost a hash, not a compression, and keep their validators.
func (s *Server) makeEntry(d doc, prev *entry, now time.Time) *entry {
	h := sha256.Sum256(d.body)
	if d.status == 0 {
		d.status = http.StatusOK
	}
	if prev != nil && prev.hash == h && prev.status == d.status && prev.contentType == d.contentType {
		return prev
	}
	e := &entry{status: d.status, contentType: d.contentType, hash: h, plain: d.body}
	tag := base64.RawURLEncoding.EncodeToString(h[:12])
	e.etag = `"` + tag + `"`
	e.etagGz = `"` + tag + `-gz"`
	e.etagBr = `"` + tag + `-br"`
	e.etagB, e.etagGzB, e.etagBrB = []byte(e.etag), []byte(e.etagGz), []byte(e.etagBr)
	e.contentTypeB = []byte(d.contentType)
	e.lastModified = now.UTC().Truncate(time.Second)
	e.lastModifiedText = e.lastModified.Format(http.TimeFormat)
	if !d.identityOnly {
		e.gz, e.br = compress(d.body)
	}

	hd := [][2]string{
		{"Vary", "Accept-Encoding"},
		{"X-Content-Type-Options", "nosniff"},
		{"Referrer-Policy", "strict-origin-when-cross-origin"},
	}
	tags := append([]string{"statusd"}, d.tags...)
	switch d.kind {
	case kindAsset:
		hd = append(hd, [2]string{"Cache-Control", "public, max-age=31536000, immutable"})
		tags = append(tags, "assets")
	default:
		ch := s.cache
		if d.status == http.StatusNotFound {
			// A missing incident may exist a minute later.
			ch = newCacheHeaders(CachePolicy{MaxAge: 10 * time.Second, CDNMaxAge: 10 * time.Second,
				StaleWhileRevalidate: 10 * time.Second, StaleIfError: s.opts.Cache.StaleIfError})
		}
		hd = append(hd, [2]string{"Cache-Control", ch.browser}, [2]string{"CDN-Cache-Control", ch.cdn},
			[2]string{"Surrogate-Control", ch.surrogate})
	}
	switch d.kind {
	case kindHTML:
		hd = append(hd, [2]string{"Content-Security-Policy", contentSecurityPolicy}, [2]string{"X-Frame-Options", "DENY"})
		tags = append(tags, "html")
	case kindJSON:
		hd = append(hd, [2]string{"Access-Control-Allow-Origin", "*"}, [2]string{"Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'"})
		tags = append(tags, "api")
	case kindFeed:
		hd = append(hd, [2]string{"Access-Control-Allow-Origin", "*"})
		tags = append(tags, "feeds")
	}
	hd = append(hd, d.headers...)
	if s.hsts {
		hd = append(hd, [2]string{"Strict-Transport-Security", "max-age=31536000"})
	}
	keys := strings.Join(tags, " ")
	hd = append(hd, [2]string{"Surrogate-Key", keys}, [2]string{"Cache-Tag", strings.Join(tags, ",")})
	for _, kv := range hd {
		e.headers = append(e.headers, header{[]byte(kv[0]), []byte(kv[1])})
	}
	e.headers = append(e.headers, header{[]byte("Last-Modified"), []byte(e.lastModifiedText)})
	return e
}

// brotliQuality trades size for rebuild time. Quality 11 makes the front
// page about 12% smaller than 5 but takes 30 times longer (70 ms against
// 2.3 ms for a 68 KB page); a rebuild at every change and minute should cost
// little, and a few hundred bytes matter less than a fresh page.
const brotliQuality = 5

// Writers are pooled: a new gzip writer at BestCompression and a brotli
// writer allocate about 2.5 MB between them, which dominates compressing the
// thousands of small documents (frames, badges) a large page has.
var (
	gzipWriters   = sync.Pool{New: func() any { w, _ := gzip.NewWriterLevel(nil, gzip.BestCompression); return w }} // the level is valid
	brotliWriters = sync.Pool{New: func() any { return brotli.NewWriterLevel(nil, brotliQuality) }}
)

// compress returns the gzip and brotli encodings of b, or nil for either if
// it would not be smaller.
func compress(b []byte) (gz, br []byte) {
	if len(b) < 256 {
		return nil, nil
	}
	var buf bytes.Buffer
	zw := gzipWriters.Get().(*gzip.Writer)
	zw.Reset(&buf)
	_, _ = zw.Write(b) // writes to a bytes.Buffer cannot fail
	_ = zw.Close()
	gzipWriters.Put(zw)
	if buf.Len() < len(b) {
		gz = bytes.Clone(buf.Bytes())
	}
	buf.Reset()
	bw := brotliWriters.Get().(*brotli.Writer)
	bw.Reset(&buf)
	_, _ = bw.Write(b) // writes to a bytes.Buffer cannot fail
	_ = bw.Close()
	brotliWriters.Put(bw)
	if buf.Len() < len(b) {
		br = bytes.Clone(buf.Bytes())
	}
	return gz, br
}
