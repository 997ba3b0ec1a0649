package server

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"

	"github.com/statusd/statusd/data"
)

// Passwords are hashed with argon2id (RFC 9106) at OWASP's recommended
// minimum cost (19 MiB, 2 passes, 1 lane), which takes tens of milliseconds,
// and stored in the PHC string format so the cost can rise later without
// invalidating older hashes: each hash carries its own parameters.
type argonParams struct {
	memory  uint32 // KiB
	time    uint32
	threads uint8
	keyLen  uint32
	saltLen int
}

var defaultArgon = argonParams{memory: 19 * 1024, time: 2, threads: 1, keyLen: 32, saltLen: 16}

// Password length limits: long enough to resist guessing offline, short
// enough that hashing a submitted password stays cheap.
const (
	MinPasswordLength = 12
	MaxPasswordLength = 256
)

// ValidatePassword checks a new password: 12 to 256 characters of valid
// UTF-8. Returns an *data.InvalidError.
func ValidatePassword(pw string) error {
	if !utf8.ValidString(pw) {
		return data.Invalid("password", "must be valid UTF-8")
	}
	n := utf8.RuneCountInString(pw)
	if n < MinPasswordLength {
		return data.Invalid("password", "is %d characters long; use at least %d", n, MinPasswordLength)
	}
	if n > MaxPasswordLength {
		return data.Invalid("password", "is %d characters long; the limit is %d", n, MaxPasswordLength)
	}
	return nil
}

// hashSlots bounds how many argon2 hashes run at once, so a burst of
// sign-ins cannot take all the memory (19 MiB each) or every core.
var hashSlots = make(chan struct{}, 2)

// HashPassword hashes a password for storage. It does not validate it: call
// ValidatePassword for new passwords.
func HashPassword(pw string) (string, error) {
	return hashWith(defaultArgon, pw)
}

func hashWith(p argonParams, pw string) (string, error) {
	salt := make([]byte, p.saltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	hashSlots <- struct{}{}
	key := argon2.IDKey([]byte(pw), salt, p.time, p.memory, p.threads, p.keyLen)
	<-hashSlots
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.memory, p.time, p.threads,
		b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

var errBadHash = errors.New("unrecognised password hash")

// parseHash reads a PHC argon2id string. It refuses parameters far beyond
// what HashPassword writes, so a tampered row cannot make one sign-in
// allocate gigabytes.
func parseHash(encoded string) (p argonParams, salt, key []byte, err error) {
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" || parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return p, nil, nil, errBadHash
	}
	var m, t, th uint64
	for _, kv := range strings.Split(parts[3], ",") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return p, nil, nil, errBadHash
		}
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil {
			return p, nil, nil, errBadHash
		}
		switch k {
		case "m":
			m = n
		case "t":
			t = n
		case "p":
			th = n
		default:
			return p, nil, nil, errBadHash
		}
	}
	if m < 8 || m > 256*1024 || t < 1 || t > 16 || th < 1 || th > 16 {
		return p, nil, nil, errBadHash
	}
	b64 := base64.RawStdEncoding
	if salt, err = b64.DecodeString(parts[4]); err != nil || len(salt) < 8 || len(salt) > 64 {
		return p, nil, nil, errBadHash
	}
	if key, err = b64.DecodeString(parts[5]); err != nil || len(key) < 16 || len(key) > 64 {
		return p, nil, nil, errBadHash
	}
	return argonParams{memory: uint32(m), time: uint32(t), threads: uint8(th), keyLen: uint32(len(key)), saltLen: len(salt)}, salt, key, nil
}

// passwordChecks counts CheckPassword calls, so tests can see that an
// unknown account costs the same hash as a wrong password.
var passwordChecks atomic.Int64

// CheckPassword reports whether pw matches the encoded hash, comparing in
// constant time. An unreadable hash is an error, never a match.
func CheckPassword(encoded, pw string) (bool, error) {
	passwordChecks.Add(1)
	p, salt, key, err := parseHash(encoded)
	if err != nil {
		return false, err
	}
	// No valid password is longer than this many bytes; a longer one is
	// hashed cut short, so it costs what any attempt costs, and refused.
	tooLong := len(pw) > 4*MaxPasswordLength
	if tooLong {
		pw = pw[:4*MaxPasswordLength]
	}
	hashSlots <- struct{}{}
	got := argon2.IDKey([]byte(pw), salt, p.time, p.memory, p.threads, p.keyLen)
	<-hashSlots
	return subtle.ConstantTimeCompare(got, key) == 1 && !tooLong, nil
}
