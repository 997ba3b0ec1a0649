package data

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// userAudit is how a user appears in the audit log's before and after.
type userAudit struct {
	Email    string `json:"email"`
	Role     Role   `json:"role"`
	Disabled bool   `json:"disabled"`
}

func auditOfUser(u User) userAudit {
	return userAudit{Email: u.Email, Role: u.Role, Disabled: u.Disabled()}
}

const userColumns = "id, email, role, created_at, updated_at, last_login_at, disabled_at"

type rowScanner interface{ Scan(dest ...any) error }

func scanUser(r rowScanner, extra ...any) (User, error) {
	var u User
	var created, updated int64
	var login, disabled sql.NullInt64
	dest := append([]any{&u.ID, &u.Email, &u.Role, &created, &updated, &login, &disabled}, extra...)
	if err := r.Scan(dest...); err != nil {
		return User{}, err
	}
	u.CreatedAt, u.UpdatedAt = fromMS(created), fromMS(updated)
	u.LastLoginAt, u.DisabledAt = fromNullMS(login), fromNullMS(disabled)
	return u, nil
}

// CreateUser adds an account. Returns an *InvalidError for a bad address or
// role and ErrConflict if the address is taken.
func (s *Store) CreateUser(ctx context.Context, n NewUser) (User, error) {
	if err := n.Validate(); err != nil {
		return User{}, err
	}
	var u User
	err := s.writeQuiet(ctx, "create user", func(tx *sql.Tx) error {
		var n0 int
		if err := tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM users WHERE email = ?", n.Email).Scan(&n0); err != nil {
			return err
		}
		if n0 > 0 {
			return fmt.Errorf("user %s: %w", n.Email, ErrConflict)
		}
		now := ms(s.Now())
		res, err := tx.ExecContext(ctx, `INSERT INTO users(email, role, password_hash, created_at, updated_at) VALUES (?, ?, ?, ?, ?)`,
			n.Email, n.Role, n.PasswordHash, now, now)
		if err != nil {
			return err
		}
		id, err := res.LastInsertId()
		if err != nil {
			return err
		}
		if u, err = userTx(ctx, tx, "id = ?", id); err != nil {
			return err
		}
		return s.auditChange(ctx, tx, AuditChange{Actor: n.Actor, Action: "user.create", Subject: u.Email, After: auditOfUser(u)})
	})
	return u, err
}

func userTx(ctx context.Context, tx *sql.Tx, where string, arg any) (User, error) {
	u, err := scanUser(tx.QueryRowContext(ctx, "SELECT "+userColumns+" FROM users WHERE "+where, arg))
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, ErrNotFound
	}
	return u, err
}

// Users lists every account, enabled ones first, then by address.
func (s *Store) Users(ctx context.Context) ([]User, error) {
	if s.closed.Load() {
		return nil, ErrClosed
	}
	rows, err := s.reader.QueryContext(ctx, "SELECT "+userColumns+" FROM users ORDER BY disabled_at IS NOT NULL, email")
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	defer rows.Close()
	out := []User{}
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, fmt.Errorf("list users: %w", err)
		}
		out = append(out, u)
	}
	return out, rows.Err()
}

// UserByEmail returns the account with the address (in any case). Returns
// ErrNotFound if there is none.
func (s *Store) UserByEmail(ctx context.Context, email string) (User, error) {
	if s.closed.Load() {
		return User{}, ErrClosed
	}
	u, err := scanUser(s.reader.QueryRowContext(ctx, "SELECT "+userColumns+" FROM users WHERE email = ?", strings.ToLower(strings.TrimSpace(email))))
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, ErrNotFound
	}
	if err != nil {
		return User{}, fmt.Errorf("read user: %w", err)
	}
	return u, nil
}

// Credentials returns the account with the address and its password hash,
// for signing in. Returns ErrNotFound if there is none; a disabled account is
// returned and the caller refuses it.
func (s *Store) Credentials(ctx context.Context, email string) (User, string, error) {
	if s.closed.Load() {
		return User{}, "", ErrClosed
	}
	var hash string
	u, err := scanUser(s.reader.QueryRowContext(ctx, "SELECT "+userColumns+", password_hash FROM users WHERE email = ?",
		strings.ToLower(strings.TrimSpace(email))), &hash)
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, "", ErrNotFound
	}
	if err != nil {
		return User{}, "", fmt.Errorf("read credentials: %w", err)
	}
	return u, hash, nil
}

// UserChange is a change to an account: a role, a password, or enabling or
// disabling it. Nil fields stay as they are.
type UserChange struct {
	Role         *Role
	PasswordHash *string
	Disabled     *bool
	Actor        string
}

// UpdateUser changes the account with the address and returns it. Disabling
// an account or changing its password ends its sessions. The last enabled
// admin can be neither disabled nor demoted (an *InvalidError), so the
// service is never left without one. Returns ErrNotFound for an unknown
// address. A change to what the account already is records nothing.
func (s *Store) UpdateUser(ctx context.Context, email string, ch UserChange) (User, error) {
	if err := validateActor(ch.Actor); err != nil {
		return User{}, err
	}
	if ch.Role != nil && !ch.Role.Valid() {
		return User{}, Invalid("role", "%q is not one of admin, comms, viewer", *ch.Role)
	}
	if ch.PasswordHash != nil && *ch.PasswordHash == "" {
		return User{}, Invalid("password", "must not be empty")
	}
	email = strings.ToLower(strings.TrimSpace(email))
	var after User
	err := s.writeQuiet(ctx, "update user", func(tx *sql.Tx) error {
		before, err := userTx(ctx, tx, "email = ?", email)
		if err != nil {
			return fmt.Errorf("user %q: %w", email, err)
		}
		now := ms(s.Now())
		var actions []string
		endSessions := false
		if ch.Role != nil && *ch.Role != before.Role {
			if before.Role == RoleAdmin && !before.Disabled() {
				if err := lastAdminCheck(ctx, tx, before, "change the role of"); err != nil {
					return err
				}
			}
			if _, err := tx.ExecContext(ctx, "UPDATE users SET role = ?, updated_at = ? WHERE id = ?", *ch.Role, now, before.ID); err != nil {
				return err
			}
			actions = append(actions, "user.role")
		}
		if ch.Disabled != nil && *ch.Disabled != before.Disabled() {
			if *ch.Disabled {
				if before.Role == RoleAdmin {
					if err := lastAdminCheck(ctx, tx, before, "disable"); err != nil {
						return err
					}
				}
				if _, err := tx.ExecContext(ctx, "UPDATE users SET disabled_at = ?, updated_at = ? WHERE id = ?", now, now, before.ID); err != nil {
					return err
				}
				actions = append(actions, "user.disable")
				endSessions = true
			} else {
				if _, err := tx.ExecContext(ctx, "UPDATE users SET disabled_at = NULL, updated_at = ? WHERE id = ?", now, before.ID); err != nil {
					return err
				}
				actions = append(actions, "user.enable")
			}
		}
		if ch.PasswordHash != nil {
			if _, err := tx.ExecContext(ctx, "UPDATE users SET password_hash = ?, updated_at = ? WHERE id = ?", *ch.PasswordHash, now, before.ID); err != nil {
				return err
			}
			actions = append(actions, "user.password")
			endSessions = true
		}
		if endSessions {
			if _, err := tx.ExecContext(ctx, "DELETE FROM sessions WHERE user_id = ?", before.ID); err != nil {
				return err
			}
		}
		if after, err = userTx(ctx, tx, "id = ?", before.ID); err != nil {
			return err
		}
		for _, a := range actions {
			if err := s.auditChange(ctx, tx, AuditChange{Actor: ch.Actor, Action: a, Subject: before.Email,
				Before: auditOfUser(before), After: auditOfUser(after)}); err != nil {
				return err
			}
		}
		return nil
	})
	return after, err
}

// lastAdminCheck refuses to take away the last enabled admin.
func lastAdminCheck(ctx context.Context, tx *sql.Tx, u User, what string) error {
	var n int
	if err := tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM users WHERE role = 'admin' AND disabled_at IS NULL AND id != ?", u.ID).Scan(&n); err != nil {
		return err
	}
	if n == 0 {
		return Invalid("email", "%s is the only active admin; make another user admin before you %s them", u.Email, what)
	}
	return nil
}

// --- sessions ---

// CreateSession starts a session after a successful sign-in, in one
// transaction with the account's last sign-in time, the attempt record and
// the audit entry. It deletes the session it replaces and sessions that have
// expired.
func (s *Store) CreateSession(ctx context.Context, n NewSession) error {
	if len(n.IDHash) == 0 || n.CSRFToken == "" || n.ExpiresAt.IsZero() || n.At.IsZero() {
		return Invalid("session", "incomplete session")
	}
	return s.writeQuiet(ctx, "create session", func(tx *sql.Tx) error {
		u, err := userTx(ctx, tx, "id = ?", n.UserID)
		if err != nil {
			return fmt.Errorf("user %d: %w", n.UserID, err)
		}
		if u.Disabled() {
			return fmt.Errorf("user %d is disabled: %w", n.UserID, ErrConflict)
		}
		if len(n.Replaces) > 0 {
			if _, err := tx.ExecContext(ctx, "DELETE FROM sessions WHERE id_hash = ?", n.Replaces); err != nil {
				return err
			}
		}
		at := ms(n.At)
		if _, err := tx.ExecContext(ctx, "DELETE FROM sessions WHERE expires_at <= ?", at); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO sessions(id_hash, user_id, csrf_token, created_at, last_seen_at, expires_at, ip, user_agent)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, n.IDHash, n.UserID, n.CSRFToken, at, at, ms(n.ExpiresAt), n.IP, truncate(n.UserAgent, 300)); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "UPDATE users SET last_login_at = ? WHERE id = ?", at, n.UserID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "INSERT INTO login_attempts(email, ip, ok, created_at) VALUES (?, ?, 1, ?)", u.Email, n.IP, at); err != nil {
			return err
		}
		return s.auditChange(ctx, tx, AuditChange{Actor: u.Email, Action: "session.login", Subject: u.Email, Detail: "from " + n.IP})
	})
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

// SessionByHash returns the session whose id has the digest, with its user.
// Returns ErrNotFound if there is none. Expiry and a disabled user are the
// caller's to judge, with its own clock.
func (s *Store) SessionByHash(ctx context.Context, idHash []byte) (Session, error) {
	if s.closed.Load() {
		return Session{}, ErrClosed
	}
	var ss Session
	var created, seen, expires int64
	row := s.reader.QueryRowContext(ctx, `SELECT u.id, u.email, u.role, u.created_at, u.updated_at, u.last_login_at, u.disabled_at,
		s.id_hash, s.csrf_token, s.created_at, s.last_seen_at, s.expires_at, s.ip, s.user_agent
		FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.id_hash = ?`, idHash)
	u, err := scanUser(row, &ss.IDHash, &ss.CSRFToken, &created, &seen, &expires, &ss.IP, &ss.UserAgent)
	if errors.Is(err, sql.ErrNoRows) {
		return Session{}, ErrNotFound
	}
	if err != nil {
		return Session{}, fmt.Errorf("read session: %w", err)
	}
	ss.User = u
	ss.CreatedAt, ss.LastSeenAt, ss.ExpiresAt = fromMS(created), fromMS(seen), fromMS(expires)
	return ss, nil
}

// TouchSession records activity on a session, which keeps it from idling out.
func (s *Store) TouchSession(ctx context.Context, idHash []byte, at time.Time) error {
	return s.writeQuiet(ctx, "touch session", func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, "UPDATE sessions SET last_seen_at = ? WHERE id_hash = ?", ms(at), idHash)
		return err
	})
}

// DeleteSession ends a session. When actor is not empty the sign-out is
// audited. Ending a session that does not exist is not an error.
func (s *Store) DeleteSession(ctx context.Context, idHash []byte, actor string) error {
	return s.writeQuiet(ctx, "delete session", func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, "DELETE FROM sessions WHERE id_hash = ?", idHash)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n > 0 && actor != "" { // sqlite3 always knows RowsAffected
			return s.auditChange(ctx, tx, AuditChange{Actor: actor, Action: "session.logout", Subject: actor})
		}
		return nil
	})
}

// --- sign-in throttling ---

// loginAttemptsKept is how long attempts are kept for throttling.
const loginAttemptsKept = 24 * time.Hour

// RecordLoginFailure records a failed sign-in for the address as typed
// (known or not) and the client address, and forgets attempts older than a
// day.
func (s *Store) RecordLoginFailure(ctx context.Context, email, ip string, at time.Time) error {
	return s.writeQuiet(ctx, "record sign-in failure", func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, "INSERT INTO login_attempts(email, ip, ok, created_at) VALUES (?, ?, 0, ?)",
			truncate(strings.ToLower(strings.TrimSpace(email)), MaxEmailLength), ip, ms(at)); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, "DELETE FROM login_attempts WHERE created_at < ?", ms(at.Add(-loginAttemptsKept)))
		return err
	})
}

// CountLoginFailures counts failed sign-ins since the time, for the address
// (since its last success) and for the client address.
func (s *Store) CountLoginFailures(ctx context.Context, email, ip string, since time.Time) (LoginFailures, error) {
	if s.closed.Load() {
		return LoginFailures{}, ErrClosed
	}
	email = truncate(strings.ToLower(strings.TrimSpace(email)), MaxEmailLength)
	var f LoginFailures
	err := s.reader.QueryRowContext(ctx, `SELECT
		(SELECT COUNT(*) FROM login_attempts WHERE email = ?1 AND ok = 0 AND created_at >= max(?3,
			coalesce((SELECT max(created_at) FROM login_attempts WHERE email = ?1 AND ok = 1), 0))),
		(SELECT COUNT(*) FROM login_attempts WHERE ip = ?2 AND ok = 0 AND created_at >= ?3)`,
		email, ip, ms(since)).Scan(&f.Account, &f.IP)
	if err != nil {
		return LoginFailures{}, fmt.Errorf("count sign-in failures: %w", err)
	}
	return f, nil
}

// --- API tokens ---

type tokenAudit struct {
	ID      string  `json:"id"`
	Name    string  `json:"name"`
	Owner   string  `json:"owner"`
	Scopes  []Scope `json:"scopes"`
	Revoked bool    `json:"revoked"`
}

func auditOfToken(t APIToken) tokenAudit {
	return tokenAudit{ID: t.ID, Name: t.Name, Owner: t.User.Email, Scopes: t.Scopes, Revoked: t.Revoked()}
}

const tokenColumns = `t.id, t.name, t.scopes, t.created_at, t.last_used_at, t.last_used_ip, t.revoked_at,
	u.id, u.email, u.role, u.created_at, u.updated_at, u.last_login_at, u.disabled_at`

func scanToken(r rowScanner) (APIToken, error) {
	var t APIToken
	var scopes string
	var created int64
	var used, revoked sql.NullInt64
	var u User
	var uc, uu int64
	var ul, ud sql.NullInt64
	if err := r.Scan(&t.ID, &t.Name, &scopes, &created, &used, &t.LastUsedIP, &revoked,
		&u.ID, &u.Email, &u.Role, &uc, &uu, &ul, &ud); err != nil {
		return APIToken{}, err
	}
	for _, sc := range strings.Fields(scopes) {
		t.Scopes = append(t.Scopes, Scope(sc))
	}
	t.CreatedAt, t.LastUsedAt, t.RevokedAt = fromMS(created), fromNullMS(used), fromNullMS(revoked)
	u.CreatedAt, u.UpdatedAt, u.LastLoginAt, u.DisabledAt = fromMS(uc), fromMS(uu), fromNullMS(ul), fromNullMS(ud)
	t.User = u
	return t, nil
}

func tokenTx(ctx context.Context, tx *sql.Tx, id string) (APIToken, error) {
	t, err := scanToken(tx.QueryRowContext(ctx, "SELECT "+tokenColumns+" FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE t.id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return APIToken{}, fmt.Errorf("token %q: %w", id, ErrNotFound)
	}
	return t, err
}

// CreateAPIToken stores a new token's digest and returns the token. With
// idem, the response the caller seals is stored under its key in the same
// transaction, so a retried create either finds it or creates nothing twice.
func (s *Store) CreateAPIToken(ctx context.Context, n NewAPIToken, idem *Idempotency) (APIToken, error) {
	if err := n.Validate(); err != nil {
		return APIToken{}, err
	}
	var t APIToken
	err := s.writeQuiet(ctx, "create API token", func(tx *sql.Tx) error {
		u, err := userTx(ctx, tx, "id = ?", n.UserID)
		if err != nil {
			return fmt.Errorf("user %d: %w", n.UserID, err)
		}
		if u.Disabled() {
			return Invalid("user", "%s is disabled", u.Email)
		}
		id := "tok_" + s.NewID()
		scopes := make([]string, len(n.Scopes))
		for i, sc := range n.Scopes {
			scopes[i] = string(sc)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO api_tokens(id, token_hash, name, user_id, scopes, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
			id, n.Hash, n.Name, n.UserID, strings.Join(scopes, " "), ms(s.Now())); err != nil {
			return err
		}
		if t, err = tokenTx(ctx, tx, id); err != nil {
			return err
		}
		if err := s.auditChange(ctx, tx, AuditChange{Actor: n.Actor, Action: "token.create", Subject: id, After: auditOfToken(t)}); err != nil {
			return err
		}
		return s.saveIdempotent(ctx, tx, idem, t)
	})
	return t, err
}

// APITokens lists every token, usable ones first, newest first.
func (s *Store) APITokens(ctx context.Context) ([]APIToken, error) {
	if s.closed.Load() {
		return nil, ErrClosed
	}
	rows, err := s.reader.QueryContext(ctx, "SELECT "+tokenColumns+
		" FROM api_tokens t JOIN users u ON u.id = t.user_id ORDER BY t.revoked_at IS NOT NULL, t.created_at DESC, t.id")
	if err != nil {
		return nil, fmt.Errorf("list API tokens: %w", err)
	}
	defer rows.Close()
	out := []APIToken{}
	for rows.Next() {
		t, err := scanToken(rows)
		if err != nil {
			return nil, fmt.Errorf("list API tokens: %w", err)
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// APITokenByHash returns the token with the digest, revoked or not, with the
// user it acts for. Returns ErrNotFound if there is none.
func (s *Store) APITokenByHash(ctx context.Context, hash []byte) (APIToken, error) {
	if s.closed.Load() {
		return APIToken{}, ErrClosed
	}
	t, err := scanToken(s.reader.QueryRowContext(ctx, "SELECT "+tokenColumns+
		" FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE t.token_hash = ?", hash))
	if errors.Is(err, sql.ErrNoRows) {
		return APIToken{}, ErrNotFound
	}
	if err != nil {
		return APIToken{}, fmt.Errorf("read API token: %w", err)
	}
	return t, nil
}

// TouchAPIToken records a use of the token.
func (s *Store) TouchAPIToken(ctx context.Context, id, ip string, at time.Time) error {
	return s.writeQuiet(ctx, "touch API token", func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, "UPDATE api_tokens SET last_used_at = ?, last_used_ip = ? WHERE id = ?", ms(at), ip, id)
		return err
	})
}

// RevokeAPIToken revokes the token and returns it. Revoking a revoked token
// changes nothing. Returns ErrNotFound for an unknown id.
func (s *Store) RevokeAPIToken(ctx context.Context, id, actor string) (APIToken, error) {
	if err := validateActor(actor); err != nil {
		return APIToken{}, err
	}
	var t APIToken
	err := s.writeQuiet(ctx, "revoke API token", func(tx *sql.Tx) error {
		before, err := tokenTx(ctx, tx, id)
		if err != nil {
			return err
		}
		if before.Revoked() {
			t = before
			return nil
		}
		if _, err := tx.ExecContext(ctx, "UPDATE api_tokens SET revoked_at = ? WHERE id = ?", ms(s.Now()), id); err != nil {
			return err
		}
		if t, err = tokenTx(ctx, tx, id); err != nil {
			return err
		}
		return s.auditChange(ctx, tx, AuditChange{Actor: actor, Action: "token.revoke", Subject: id,
			Before: auditOfToken(before), After: auditOfToken(t)})
	})
	return t, err
}
