package data

import (
	"crypto/rand"
	"crypto/sha256"
)

// idAlphabet spells ids: lower-case letters and digits, the shape of
// Statuspage's ids.
const idAlphabet = "abcdefghijklmnopqrstuvwxyz0123456789"

// idLen is the length of every id NewID and DeriveID make.
const idLen = 12

// NewID returns a random 12-character id of lower-case letters and digits,
// the shape of Statuspage's ids. It is the default of Store.NewID.
func NewID() string {
	var b [idLen]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	return spellID(b)
}

// DeriveID returns the 12-character id that seed always gives, in the shape
// of NewID's: a page id derived from the page's name stays the same across
// restarts and machines.
func DeriveID(seed string) string {
	sum := sha256.Sum256([]byte(seed))
	return spellID([idLen]byte(sum[:idLen]))
}

func spellID(b [idLen]byte) string {
	for i := range b {
		b[i] = idAlphabet[int(b[i])%len(idAlphabet)]
	}
	return string(b[:])
}
