package server

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"html/template"
	"net/http"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/gzip"

	"github.com/statusd/statusd/data"
)

// snapshot is one immutable rendering of every public document. Requests
// read it through an atomic pointer and only copy its bytes; a rebuild makes a
// new snapshot and swaps the pointer.
type snapshot struct {
	entries map[string]*entry
	notFoundHTML,
	notFoundJSON *entry
	// What the archive renders older incidents' pages with: the model of
	// this snapshot, the key of what pages share and when it last changed.
	model     *model
	pageKey   uint64
	pageSince time.Time
}

// reusable returns the entry at path if it was rendered with key, which
// means it can be used again as it is. A nil snapshot has none.
func (sn *snapshot) reusable(path string, key uint64) *entry {
	if sn == nil || key == 0 {
		return nil
	}
	e := sn.entries[path]
	if path == notFoundPath {
		e = sn.notFoundHTML
	}
	if e != nil && e.key == key {
		return e
	}
	return nil
}

// entry is one document in three encodings, with every response header it
// needs already formatted.
type entry struct {
	status       int
	contentType  string
	contentTypeB []byte
	key          uint64            // render key of the inputs, 0 if none
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

// size is about how much memory the entry holds.
func (e *entry) size() int {
	n := len(e.plain) + len(e.gz) + len(e.br) + 512
	for _, h := range e.headers {
		n += len(h.key) + len(h.value) + 48
	}
	return n
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
	key          uint64    // render key of what body was made from; 0 if none
	modified     time.Time // Last-Modified if set; else the time the bytes changed
	// reuse, when set, is the previous snapshot's entry for the same key:
	// nothing was rendered and the rest of doc is empty.
	reuse *entry
}

// fragments are the pieces of documents kept from one rebuild to the next,
// by render key, and what pages share. Guarded by Server.buildMu.
type fragments struct {
	components memo[template.HTML] // front-page components
	compJSON   memo[[]byte]        // Statuspage components
	incJSON    memo[[]byte]        // Statuspage incidents and maintenances
	pageKey    uint64              // the last model's pageKey
	pageSince  time.Time           // when pageKey last changed
	ids        idsRead             // how the last read asked for incident ids
}

// snapshotOptions are what Rebuild asks the store for. The ids of all
// incidents are read in full once a day (a cheap safety net) and otherwise
// only those added since the last read.
// s.buildMu must be held.
func (s *Server) snapshotOptions() data.SnapshotOptions {
	day := s.opts.Now().In(s.opts.Page.Location).Format(time.DateOnly)
	var after int64
	after, s.frags.ids = s.archive.after(day)
	return data.SnapshotOptions{Days: s.opts.HistoryDays, Location: s.opts.Page.Location, IDsAfter: after}
}

// render builds every public document of m into a new snapshot. Documents
// whose render key did not change are taken from the previous snapshot as
// they are; the rest are rendered, and compressed in parallel unless their
// bytes turn out the same as before.
func (s *Server) render(m *model) (*snapshot, error) {
	f := &s.frags
	f.components.turn()
	f.compJSON.turn()
	f.incJSON.turn()
	now := s.opts.Now()
	if f.pageSince.IsZero() || f.pageKey != m.pageKey {
		f.pageKey, f.pageSince = m.pageKey, now
	}
	prev := s.snap.Load()

	var docs []doc
	html, err := s.htmlDocs(m, prev)
	if err != nil {
		return nil, err
	}
	docs = append(docs, html...)
	api, err := s.apiDocs(m)
	if err != nil {
		return nil, err
	}
	docs = append(docs, api...)
	feed, err := s.feedDocs(m, prev)
	if err != nil {
		return nil, err
	}
	docs = append(docs, feed...)
	embed, err := s.embedDocs(m) // embed.go: widget, frames, badges, /embed
	if err != nil {
		return nil, err
	}
	docs = append(docs, embed...)
	sub, err := s.subscribeDocs(m, prev) // subscribe.go: the /subscribe form
	if err != nil {
		return nil, err
	}
	docs = append(docs, sub...)
	docs = append(docs, s.assets...)
	docs = append(docs, doc{path: notFoundJSONPath, kind: kindJSON, status: http.StatusNotFound,
		contentType: "application/json; charset=utf-8", body: []byte(`{"error":"not found"}`)})

	next := &snapshot{entries: make(map[string]*entry, len(docs)), model: m, pageKey: m.pageKey, pageSince: f.pageSince}
	for i, e := range s.makeEntries(docs, prev, now) {
		next.entries[docs[i].path] = e
	}
	next.notFoundHTML = next.entries[notFoundPath]
	next.notFoundJSON = next.entries[notFoundJSONPath]
	delete(next.entries, notFoundPath)
	delete(next.entries, notFoundJSONPath)
	s.archive.update(m, f.ids, prev, next)
	return next, nil
}

// notFoundJSONPath keys the prebuilt JSON 404 while a snapshot is built.
const notFoundJSONPath = "404.json"

// makeEntries makes the entry of each doc, compressing on every core: a
// rebuild after one change compresses only the documents whose bytes
// changed, but on a large page those are the biggest.
func (s *Server) makeEntries(docs []doc, prev *snapshot, now time.Time) []*entry {
	out := make([]*entry, len(docs))
	var work []int
	for i, d := range docs {
		if d.reuse != nil {
			out[i] = d.reuse
			continue
		}
		work = append(work, i)
	}
	old := func(path string) *entry {
		if prev == nil {
			return nil
		}
		switch path {
		case notFoundPath:
			return prev.notFoundHTML
		case notFoundJSONPath:
			return prev.notFoundJSON
		}
		return prev.entries[path]
	}
	// Biggest first, so that one large page does not start last.
	slices.SortFunc(work, func(a, b int) int { return len(docs[b].body) - len(docs[a].body) })
	workers := min(runtime.GOMAXPROCS(0), len(work))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				n := int(next.Add(1)) - 1
				if n >= len(work) {
					return
				}
				i := work[n]
				out[i] = s.makeEntry(docs[i], old(docs[i].path), now)
			}
		}()
	}
	wg.Wait()
	return out
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
// documents cost a hash, not a compression, and keep their validators. It is
// safe for concurrent use.
func (s *Server) makeEntry(d doc, prev *entry, now time.Time) *entry {
	if d.reuse != nil {
		return d.reuse
	}
	h := sha256.Sum256(d.body)
	if d.status == 0 {
		d.status = http.StatusOK
	}
	modified := now.UTC().Truncate(time.Second)
	if !d.modified.IsZero() && d.modified.Before(now) {
		modified = d.modified.UTC().Truncate(time.Second)
	}
	e := &entry{status: d.status, contentType: d.contentType, hash: h, plain: d.body, key: d.key}
	if prev != nil && prev.hash == h && prev.status == d.status && prev.contentType == d.contentType {
		if d.modified.IsZero() || prev.lastModified.Equal(modified) {
			if prev.key == d.key {
				return prev
			}
			cp := *prev
			cp.key = d.key
			return &cp
		}
		e.gz, e.br = prev.gz, prev.br
	} else if !d.identityOnly {
		e.gz, e.br = compress(d.body)
	}
	tag := base64.RawURLEncoding.EncodeToString(h[:12])
	e.etag = `"` + tag + `"`
	e.etagGz = `"` + tag + `-gz"`
	e.etagBr = `"` + tag + `-br"`
	e.etagB, e.etagGzB, e.etagBrB = []byte(e.etag), []byte(e.etagGz), []byte(e.etagBr)
	e.contentTypeB = []byte(d.contentType)
	e.lastModified = modified
	e.lastModifiedText = e.lastModified.Format(http.TimeFormat)

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
	e.headers = make([]header, 0, len(hd)+1)
	for _, kv := range hd {
		// Most names and values are the same on thousands of entries:
		// they share one copy.
		e.headers = append(e.headers, header{headerBytes.get(kv[0]), headerBytes.get(kv[1])})
	}
	e.headers = append(e.headers, header{headerBytes.get("Last-Modified"), []byte(e.lastModifiedText)})
	return e
}

// headerBytes holds one copy of each header name and value that entries
// share. Responses only read them.
var headerBytes = newInterner(4096)

// interner returns one shared []byte per distinct string, up to limit
// strings; past that it copies, so values unique to one document (its
// Surrogate-Key) cannot grow it without bound.
type interner struct {
	mu    sync.Mutex
	limit int
	m     map[string][]byte
}

func newInterner(limit int) *interner { return &interner{limit: limit, m: map[string][]byte{}} }

func (in *interner) get(s string) []byte {
	in.mu.Lock()
	defer in.mu.Unlock()
	if b, ok := in.m[s]; ok {
		return b
	}
	b := []byte(s)
	if len(in.m) < in.limit {
		in.m[s] = b
	}
	return b
}

// brotliQuality trades size for rebuild time. Quality 11 makes the front
// page about 12% smaller than 5 but takes 30 times longer (70 ms against
// 2.3 ms for a 68 KB page); a rebuild at every change and minute should cost
// little, and a few hundred bytes matter less than a fresh page.
const brotliQuality = 5

// gzipLevel trades size for rebuild time as brotliQuality does: on the
// documents a status change alters on a 500-component page (950 KB), level
// 6 takes 3.6 ms and makes 52.6 KB; level 9 takes 16 ms for 48.5 KB.
// Most clients take brotli anyway.
const gzipLevel = 6

// The writers keep large tables and the buffers grow to the largest
// document; a rebuild compresses tens of documents, so they are reused
// rather than made for each one.
var (
	gzipWriters   = sync.Pool{New: func() any { w, _ := gzip.NewWriterLevel(nil, gzipLevel); return w }} // the level is valid
	brotliWriters = sync.Pool{New: func() any { return brotli.NewWriterLevel(nil, brotliQuality) }}
	compressBufs  = sync.Pool{New: func() any { return new(bytes.Buffer) }}
)

// compress returns the gzip and brotli encodings of b, or nil for either if
// it would not be smaller.
func compress(b []byte) (gz, br []byte) {
	if len(b) < 256 {
		return nil, nil
	}
	buf := compressBufs.Get().(*bytes.Buffer)
	defer compressBufs.Put(buf)
	buf.Reset()
	zw := gzipWriters.Get().(*gzip.Writer)
	zw.Reset(buf)
	_, _ = zw.Write(b) // writes to a bytes.Buffer cannot fail
	_ = zw.Close()
	gzipWriters.Put(zw)
	if buf.Len() < len(b) {
		gz = bytes.Clone(buf.Bytes())
	}
	buf.Reset()
	bw := brotliWriters.Get().(*brotli.Writer)
	bw.Reset(buf)
	_, _ = bw.Write(b) // writes to a bytes.Buffer cannot fail
	_ = bw.Close()
	brotliWriters.Put(bw)
	if buf.Len() < len(b) {
		br = bytes.Clone(buf.Bytes())
	}
	return gz, br
}
