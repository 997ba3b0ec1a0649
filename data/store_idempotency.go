package data

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// IdempotencyKept is how long a stored response answers a retried request.
const IdempotencyKept = 24 * time.Hour

// Idempotency asks a create to store its response under the client's
// Idempotency-Key in the same transaction as the create, so that a retry
// either finds the response or finds nothing was created.
type Idempotency struct {
	TokenID     string // the API token that made the request
	Key         string // the client's key
	Fingerprint []byte // digest of the request, to tell a retry from a reuse of the key
	// Seal turns what was created into the response to store: its status
	// and its body, sealed so that only the client can read it.
	Seal func(created any) (status int, sealed []byte, err error)
}

// StoredResponse is a response kept for an Idempotency-Key.
type StoredResponse struct {
	Fingerprint []byte
	Status      int
	Sealed      []byte
	CreatedAt   time.Time
}

// IdempotentResponse returns the response stored for the token's key.
// Returns ErrNotFound if there is none younger than IdempotencyKept.
func (s *Store) IdempotentResponse(ctx context.Context, tokenID, key string) (StoredResponse, error) {
	if s.closed.Load() {
		return StoredResponse{}, ErrClosed
	}
	var r StoredResponse
	var at int64
	err := s.reader.QueryRowContext(ctx, "SELECT fingerprint, status, sealed, created_at FROM idempotency_keys WHERE token_id = ? AND key = ? AND created_at >= ?",
		tokenID, key, ms(s.Now().Add(-IdempotencyKept))).Scan(&r.Fingerprint, &r.Status, &r.Sealed, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return StoredResponse{}, ErrNotFound
	}
	if err != nil {
		return StoredResponse{}, fmt.Errorf("read idempotent response: %w", err)
	}
	r.CreatedAt = fromMS(at)
	return r, nil
}

// saveIdempotent stores the response to a create inside its transaction.
// A key already used (by a concurrent request that committed first) is
// ErrConflict, which rolls the create back.
func (s *Store) saveIdempotent(ctx context.Context, tx *sql.Tx, idem *Idempotency, created any) error {
	if idem == nil {
		return nil
	}
	if idem.Key == "" || idem.TokenID == "" || idem.Seal == nil {
		return Invalid("Idempotency-Key", "incomplete idempotency request")
	}
	now := s.Now()
	if _, err := tx.ExecContext(ctx, "DELETE FROM idempotency_keys WHERE created_at < ?", ms(now.Add(-IdempotencyKept))); err != nil {
		return err
	}
	var n int
	if err := tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM idempotency_keys WHERE token_id = ? AND key = ?", idem.TokenID, idem.Key).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return fmt.Errorf("idempotency key %q: %w", idem.Key, ErrConflict)
	}
	status, sealed, err := idem.Seal(created)
	if err != nil {
		return fmt.Errorf("seal response: %w", err)
	}
	_, err = tx.ExecContext(ctx, "INSERT INTO idempotency_keys(token_id, key, fingerprint, status, sealed, created_at) VALUES (?, ?, ?, ?, ?, ?)",
		idem.TokenID, idem.Key, idem.Fingerprint, status, sealed, ms(now))
	return err
}
