package data

import (
	"net/mail"
	"slices"
	"strings"
	"time"
)

// Role is what a person may do in the admin UI and API.
type Role string

// The roles, from most to least powerful. Admins manage users and tokens;
// comms leads run incidents, maintenance and overrides; viewers only look.
const (
	RoleAdmin  Role = "admin"
	RoleComms  Role = "comms"
	RoleViewer Role = "viewer"
)

// Roles lists every role, most powerful first.
var Roles = []Role{RoleAdmin, RoleComms, RoleViewer}

// Valid reports whether r is a defined role.
func (r Role) Valid() bool { return slices.Contains(Roles, r) }

// Label is the role in words for people.
func (r Role) Label() string {
	switch r {
	case RoleAdmin:
		return "Admin"
	case RoleComms:
		return "Comms lead"
	case RoleViewer:
		return "Viewer"
	}
	return "Unknown"
}

// ParseRole validates a role given by a user.
func ParseRole(v string) (Role, error) {
	r := Role(v)
	if !r.Valid() {
		return "", Invalid("role", "%q is not one of admin, comms, viewer", v)
	}
	return r, nil
}

// User is a person who signs in to the admin UI. The password hash never
// leaves the store except through Credentials.
type User struct {
	ID          int64
	Email       string
	Role        Role
	CreatedAt   time.Time
	UpdatedAt   time.Time
	LastLoginAt time.Time // zero if never
	DisabledAt  time.Time // zero while the user may sign in
}

// Disabled reports whether the user has been disabled.
func (u User) Disabled() bool { return !u.DisabledAt.IsZero() }

// MaxEmailLength is the longest address RFC 5321 allows in a path.
const MaxEmailLength = 254

// NormalizeEmail validates an e-mail address given as an account name and
// returns it lower-cased, so that "Ann@Example.com" and "ann@example.com"
// are one account. Only a bare address is accepted, not "Name <addr>".
func NormalizeEmail(field, v string) (string, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return "", Invalid(field, "must not be empty")
	}
	if len(v) > MaxEmailLength {
		return "", Invalid(field, "is %d characters long; the limit is %d", len(v), MaxEmailLength)
	}
	a, err := mail.ParseAddress(v)
	if err != nil || a.Address != v || a.Name != "" || !strings.Contains(v[strings.LastIndexByte(v, '@')+1:], ".") {
		return "", Invalid(field, "%q is not an e-mail address like name@example.com", v)
	}
	return strings.ToLower(v), nil
}

// NewUser is an account to create. PasswordHash is already hashed: the store
// never sees a password.
type NewUser struct {
	Email        string
	Role         Role
	PasswordHash string
	Actor        string // who creates it, for the audit log
}

// Validate checks a new account.
func (n *NewUser) Validate() error {
	e, err := NormalizeEmail("email", n.Email)
	if err != nil {
		return err
	}
	n.Email = e
	if !n.Role.Valid() {
		return Invalid("role", "%q is not one of admin, comms, viewer", n.Role)
	}
	if n.PasswordHash == "" {
		return Invalid("password", "must not be empty")
	}
	return validateActor(n.Actor)
}

func validateActor(a string) error {
	return ValidateText("actor", a, 300, true, false)
}

// Session is a signed-in browser. The store knows it by the digest of the
// random id in its cookie.
type Session struct {
	IDHash     []byte
	User       User
	CSRFToken  string
	CreatedAt  time.Time
	LastSeenAt time.Time
	ExpiresAt  time.Time // absolute expiry; idle expiry is the caller's rule
	IP         string
	UserAgent  string
}

// NewSession is a session to start after a successful sign-in.
type NewSession struct {
	IDHash    []byte
	UserID    int64
	CSRFToken string
	At        time.Time
	ExpiresAt time.Time
	IP        string
	UserAgent string
	// Replaces is the digest of the session the browser presented before
	// signing in, if any: it is deleted, so an id never survives a sign-in.
	Replaces []byte
}

// Scope is one thing an API token may do.
type Scope string

// The token scopes. TokensWrite is an admin's power: a token holding it can
// create tokens (with at most its own scopes) and revoke them.
const (
	ScopeIncidentsWrite   Scope = "incidents:write"
	ScopeMaintenanceWrite Scope = "maintenance:write"
	ScopeComponentsWrite  Scope = "components:write"
	ScopeSubscribersRead  Scope = "subscribers:read"
	ScopeSubscribersWrite Scope = "subscribers:write"
	ScopeSLOWrite         Scope = "slo:write"
	ScopeAuditRead        Scope = "audit:read"
	ScopeTokensWrite      Scope = "tokens:write"
)

// Scopes lists every scope.
var Scopes = []Scope{ScopeIncidentsWrite, ScopeMaintenanceWrite, ScopeComponentsWrite, ScopeSubscribersRead,
	ScopeSubscribersWrite, ScopeSLOWrite, ScopeAuditRead, ScopeTokensWrite}

// Valid reports whether s is a defined scope.
func (s Scope) Valid() bool { return slices.Contains(Scopes, s) }

// ParseScopes validates scopes given by a user, in any order, and returns
// them without duplicates in the order of Scopes.
func ParseScopes(vs []string) ([]Scope, error) {
	seen := map[Scope]bool{}
	for _, v := range vs {
		sc := Scope(strings.TrimSpace(v))
		if !sc.Valid() {
			return nil, Invalid("scopes", "%q is not a scope; use %s", v, scopeList())
		}
		seen[sc] = true
	}
	if len(seen) == 0 {
		return nil, Invalid("scopes", "choose at least one scope")
	}
	var out []Scope
	for _, sc := range Scopes {
		if seen[sc] {
			out = append(out, sc)
		}
	}
	return out, nil
}

func scopeList() string {
	s := make([]string, len(Scopes))
	for i, sc := range Scopes {
		s[i] = string(sc)
	}
	return strings.Join(s, ", ")
}

// APIToken is a bearer token for the admin API. It acts for the user who
// created it, limited to its scopes, and stops working when revoked or when
// that user is disabled. Only the digest of the token is stored.
type APIToken struct {
	ID         string
	Name       string
	User       User // the creator, whom the token acts for
	Scopes     []Scope
	CreatedAt  time.Time
	LastUsedAt time.Time // zero if never used
	LastUsedIP string
	RevokedAt  time.Time // zero while usable
}

// Has reports whether the token holds scope sc.
func (t APIToken) Has(sc Scope) bool { return slices.Contains(t.Scopes, sc) }

// Revoked reports whether the token has been revoked.
func (t APIToken) Revoked() bool { return !t.RevokedAt.IsZero() }

// NewAPIToken is a token to create. Hash is the SHA-256 digest of the
// secret, which the caller shows once and forgets.
type NewAPIToken struct {
	Name   string
	UserID int64
	Scopes []Scope
	Hash   []byte
	Actor  string
}

// Validate checks a new token.
func (n NewAPIToken) Validate() error {
	if err := ValidateText("name", n.Name, 100, true, false); err != nil {
		return err
	}
	if len(n.Scopes) == 0 {
		return Invalid("scopes", "choose at least one scope")
	}
	for _, sc := range n.Scopes {
		if !sc.Valid() {
			return Invalid("scopes", "%q is not a scope; use %s", sc, scopeList())
		}
	}
	if len(n.Hash) == 0 {
		return Invalid("token", "the digest is missing")
	}
	return validateActor(n.Actor)
}

// LoginFailures counts failed sign-ins within a window.
type LoginFailures struct {
	// Account counts failures for the account since the window began or
	// its last successful sign-in, whichever is later.
	Account int
	// IP counts failures from the address in the window; a success does
	// not reset it, or one valid account would unlock guessing at others.
	IP int
}
