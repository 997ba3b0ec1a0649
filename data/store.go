package data

import (
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"path"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	_ "github.com/mattn/go-sqlite3" // registers the "sqlite3" driver
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// Store keeps statusd's state in one SQLite file.
//
// SQLite allows one writer at a time. Rather than have writers queue on the
// file lock (and fail with SQLITE_BUSY under load), all writes go through one
// connection, and each write transaction takes the lock up front
// (_txlock=immediate) so a transaction never has to upgrade from read to write
// halfway and deadlock. Reads use a separate pool of read-only connections,
// which WAL mode lets run alongside the writer.
type Store struct {
	path   string
	writer *sql.DB
	reader *sql.DB

	// Now is the clock; tests replace it.
	Now func() time.Time
	// NewID makes ids for incidents and updates; tests replace it to get
	// stable ids.
	NewID func() string

	mu     sync.Mutex
	subs   map[chan struct{}]struct{}
	closed atomic.Bool

	uptime uptimeCache // closed days of the uptime window, between snapshots
}

// Open opens (creating if needed) the SQLite database at path. It does not
// migrate: call Migrate before use. The path ":memory:" is refused because the
// reader and writer pools must share one file.
func Open(ctx context.Context, path string) (*Store, error) {
	if path == "" || path == ":memory:" || strings.HasPrefix(path, "file:") {
		return nil, Invalid("db", "a database file path is needed")
	}
	q := url.Values{}
	// WAL lets readers work while the writer commits; busy_timeout makes a
	// connection wait for a lock instead of failing at once; foreign keys are
	// off by default in SQLite and must be asked for on every connection;
	// synchronous=NORMAL is durable across process crashes in WAL mode.
	q.Set("_journal_mode", "WAL")
	q.Set("_busy_timeout", "5000")
	q.Set("_foreign_keys", "on")
	q.Set("_synchronous", "NORMAL")
	wq := url.Values{}
	for k, v := range q {
		wq[k] = v
	}
	wq.Set("_txlock", "immediate")
	w, err := sql.Open("sqlite3", "file:"+escapePath(path)+"?"+wq.Encode())
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxIdleTime(0)
	// The writer creates the file and switches it to WAL before any reader
	// opens it.
	if err := w.PingContext(ctx); err != nil {
		_ = w.Close() // the ping error is the one worth reporting
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	rq := url.Values{}
	for k, v := range q {
		rq[k] = v
	}
	rq.Set("_query_only", "true")
	r, err := sql.Open("sqlite3", "file:"+escapePath(path)+"?"+rq.Encode())
	if err != nil {
		_ = w.Close() // reporting the reader's error
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	n := max(4, runtime.NumCPU())
	r.SetMaxOpenConns(n)
	r.SetMaxIdleConns(n)
	return &Store{path: path, writer: w, reader: r, Now: time.Now, NewID: NewID, subs: map[chan struct{}]struct{}{}}, nil
}

// escapePath keeps '?' and '#' in a file name from being read as the start of
// the DSN's query.
func escapePath(p string) string {
	return strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(p)
}

// Path is the database file's path.
func (s *Store) Path() string { return s.path }

// Close closes both pools. Later calls return ErrClosed.
func (s *Store) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	s.mu.Lock()
	for ch := range s.subs {
		close(ch)
		delete(s.subs, ch)
	}
	s.mu.Unlock()
	return errors.Join(s.reader.Close(), s.writer.Close())
}

// Ping checks that the database file can be read.
func (s *Store) Ping(ctx context.Context) error {
	if s.closed.Load() {
		return ErrClosed
	}
	var one int
	if err := s.reader.QueryRowContext(ctx, "SELECT 1 FROM schema_migrations LIMIT 1").Scan(&one); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("ping store: %w", err)
	}
	return nil
}

// Subscribe returns a channel that receives a value after each committed
// change (coalesced: a slow reader sees one signal for many changes) and a
// function that stops the subscription. The channel is closed when the store
// closes.
func (s *Store) Subscribe() (<-chan struct{}, func()) {
	ch := make(chan struct{}, 1)
	s.mu.Lock()
	if s.closed.Load() {
		close(ch)
	} else {
		s.subs[ch] = struct{}{}
	}
	s.mu.Unlock()
	return ch, func() {
		s.mu.Lock()
		if _, ok := s.subs[ch]; ok {
			delete(s.subs, ch)
			close(ch)
		}
		s.mu.Unlock()
	}
}

func (s *Store) notify() {
	s.mu.Lock()
	for ch := range s.subs {
		select {
		case ch <- struct{}{}:
		default: // a signal is already pending
		}
	}
	s.mu.Unlock()
}

// Migrate applies the embedded migrations not yet recorded, each in its own
// transaction, in name order, and returns the names it applied.
func (s *Store) Migrate(ctx context.Context) ([]string, error) {
	if s.closed.Load() {
		return nil, ErrClosed
	}
	if _, err := s.writer.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		name TEXT PRIMARY KEY, applied_at INTEGER NOT NULL) STRICT`); err != nil {
		return nil, fmt.Errorf("create migrations table: %w", err)
	}
	names, err := fs.Glob(migrationFS, "migrations/*.sql")
	if err != nil {
		return nil, fmt.Errorf("list migrations: %w", err)
	}
	sort.Strings(names)
	var applied []string
	for _, name := range names {
		base := path.Base(name)
		done, err := s.migrateOne(ctx, name, base)
		if err != nil {
			return applied, err
		}
		if done {
			applied = append(applied, base)
		}
	}
	return applied, nil
}

func (s *Store) migrateOne(ctx context.Context, name, base string) (bool, error) {
	tx, err := s.writer.BeginTx(ctx, nil)
	if err != nil {
		return false, fmt.Errorf("migrate %s: %w", base, err)
	}
	defer func() { _ = tx.Rollback() }() // no-op after Commit
	var n int
	if err := tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM schema_migrations WHERE name = ?", base).Scan(&n); err != nil {
		return false, fmt.Errorf("migrate %s: %w", base, err)
	}
	if n > 0 {
		return false, nil
	}
	body, err := migrationFS.ReadFile(name)
	if err != nil {
		return false, fmt.Errorf("migrate %s: %w", base, err)
	}
	if _, err := tx.ExecContext(ctx, string(body)); err != nil {
		return false, fmt.Errorf("migrate %s: %w", base, err)
	}
	if _, err := tx.ExecContext(ctx, "INSERT INTO schema_migrations(name, applied_at) VALUES (?, ?)", base, ms(s.Now())); err != nil {
		return false, fmt.Errorf("migrate %s: %w", base, err)
	}
	if err := tx.Commit(); err != nil {
		return false, fmt.Errorf("migrate %s: %w", base, err)
	}
	return true, nil
}

// Migrations lists the applied migrations by name.
func (s *Store) Migrations(ctx context.Context) ([]string, error) {
	rows, err := s.reader.QueryContext(ctx, "SELECT name FROM schema_migrations ORDER BY name")
	if err != nil {
		return nil, fmt.Errorf("list migrations: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, fmt.Errorf("list migrations: %w", err)
		}
		out = append(out, n)
	}
	return out, rows.Err()
}

// write runs fn in one write transaction and, after it commits, tells
// subscribers that something changed.
func (s *Store) write(ctx context.Context, what string, fn func(tx *sql.Tx) error) error {
	if s.closed.Load() {
		return ErrClosed
	}
	tx, err := s.writer.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	defer func() { _ = tx.Rollback() }() // no-op after Commit
	if err := fn(tx); err != nil {
		var inv *InvalidError
		if errors.As(err, &inv) || errors.Is(err, ErrNotFound) || errors.Is(err, ErrConflict) {
			return err
		}
		return fmt.Errorf("%s: %w", what, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("%s: commit: %w", what, err)
	}
	s.notify()
	return nil
}

func (s *Store) audit(ctx context.Context, tx *sql.Tx, actor, action, subject, detail string) error {
	_, err := tx.ExecContext(ctx, "INSERT INTO audit_log(actor, action, subject, detail, created_at) VALUES (?, ?, ?, ?, ?)",
		actor, action, subject, detail, ms(s.Now()))
	if err != nil {
		return fmt.Errorf("audit %s: %w", action, err)
	}
	return nil
}

func (s *Store) event(ctx context.Context, tx *sql.Tx, kind EventKind, subject string, payload EventPayload) error {
	b, err := json.Marshal(payload)
	if err != nil {
		return fmt.Errorf("encode %s event: %w", kind, err)
	}
	_, err = tx.ExecContext(ctx, "INSERT INTO events(kind, subject, payload, created_at, version) VALUES (?, ?, ?, ?, ?)",
		kind, subject, string(b), ms(s.Now()), eventVersion)
	if err != nil {
		return fmt.Errorf("record %s event: %w", kind, err)
	}
	return nil
}

// Events returns outbox events with an id greater than after, oldest first,
// at most limit of them.
func (s *Store) Events(ctx context.Context, after int64, limit int) ([]Event, error) {
	if s.closed.Load() {
		return nil, ErrClosed
	}
	out, err := loadEvents(ctx, s.reader, after, limit)
	if err != nil {
		return nil, fmt.Errorf("list events: %w", err)
	}
	return out, nil
}

func loadEvents(ctx context.Context, q querier, after int64, limit int) ([]Event, error) {
	rows, err := q.QueryContext(ctx, "SELECT id, kind, subject, payload, created_at, version FROM events WHERE id > ? ORDER BY id LIMIT ?", after, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Event
	for rows.Next() {
		var e Event
		var at int64
		var version int
		var payload string
		if err := rows.Scan(&e.ID, &e.Kind, &e.Subject, &payload, &at, &version); err != nil {
			return nil, err
		}
		e.CreatedAt = fromMS(at)
		if e.Payload, err = decodePayload(e.Kind, version, payload); err != nil {
			return nil, fmt.Errorf("event %d: %w", e.ID, err)
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// EventsByID returns the events with the given ids, by id; ids that do not
// exist are left out.
func (s *Store) EventsByID(ctx context.Context, ids ...int64) (map[int64]Event, error) {
	if s.closed.Load() {
		return nil, ErrClosed
	}
	out := make(map[int64]Event, len(ids))
	for _, id := range ids {
		if _, done := out[id]; done {
			continue
		}
		evs, err := loadEvents(ctx, s.reader, id-1, 1)
		if err != nil {
			return nil, fmt.Errorf("load event %d: %w", id, err)
		}
		if len(evs) == 1 && evs[0].ID == id {
			out[id] = evs[0]
		}
	}
	return out, nil
}

// AuditEntry is one line of the audit log.
type AuditEntry struct {
	ID      int64
	Actor   string
	Action  string
	Subject string
	Detail  string
	Before  string // JSON of the subject before the action; "" if none or not recorded
	After   string // JSON of the subject after the action; "" if none or not recorded
	At      time.Time
}

// Audit returns the newest audit entries first, at most limit.
func (s *Store) Audit(ctx context.Context, limit int) ([]AuditEntry, error) {
	if s.closed.Load() {
		return nil, ErrClosed
	}
	rows, err := s.reader.QueryContext(ctx, "SELECT id, actor, action, subject, detail, created_at FROM audit_log ORDER BY id DESC LIMIT ?", limit)
	if err != nil {
		return nil, fmt.Errorf("list audit log: %w", err)
	}
	defer rows.Close()
	var out []AuditEntry
	for rows.Next() {
		var a AuditEntry
		var at int64
		if err := rows.Scan(&a.ID, &a.Actor, &a.Action, &a.Subject, &a.Detail, &at); err != nil {
			return nil, fmt.Errorf("list audit log: %w", err)
		}
		a.At = fromMS(at)
		out = append(out, a)
	}
	return out, rows.Err()
}

func ms(t time.Time) int64 { return t.UnixMilli() }

func fromMS(v int64) time.Time { return time.UnixMilli(v).UTC() }

func nullMS(t time.Time) sql.NullInt64 {
	if t.IsZero() {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: t.UnixMilli(), Valid: true}
}

func fromNullMS(v sql.NullInt64) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return fromMS(v.Int64)
}

// Watch tells subscribers about commits made by other processes — the
// statusd CLI, a restored backup, sqlite3 — by polling SQLite's data_version
// on a connection of its own every interval. Commits through this Store are
// announced directly; Watch sees them too, which only coalesces with that
// signal. It returns nil when ctx ends or the store closes.
func (s *Store) Watch(ctx context.Context, every time.Duration) error {
	if s.closed.Load() {
		return nil
	}
	conn, err := s.reader.Conn(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("watch database: %w", err)
	}
	defer conn.Close()
	t := time.NewTicker(every)
	defer t.Stop()
	last := int64(-1)
	var lastMark string
	for {
		var v int64
		err := conn.QueryRowContext(ctx, "PRAGMA data_version").Scan(&v)
		switch {
		case err == nil && v == last:
		case err == nil:
			// data_version also moves for this process's own probe-result
			// batches, which change nothing shown and would otherwise
			// rebuild the page every second; a commit that matters moves
			// the events, a component or an incident.
			var mark string
			err = conn.QueryRowContext(ctx, `SELECT (SELECT COALESCE(MAX(id), 0) FROM events) || '/' ||
				(SELECT COALESCE(MAX(updated_at), 0) FROM components) || '/' || (SELECT COALESCE(MAX(updated_at), 0) FROM incidents) || '/' ||
				(SELECT COALESCE(MAX(updated_at), 0) FROM journeys) || '/' || (SELECT COUNT(*) FROM incident_updates)`).Scan(&mark)
			if err != nil {
				break // transient: the next tick tries again
			}
			// The first read also signals: a commit made between the
			// subscriber's last read and this one would otherwise be missed.
			if mark != lastMark {
				s.notify()
			}
			last, lastMark = v, mark
		case ctx.Err() != nil || s.closed.Load():
			return nil
		}
		// Any other error is transient (a busy file, a full disk): the next
		// tick tries again.
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}
