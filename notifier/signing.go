package notifier

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// secretPrefix starts every webhook signing secret, as Standard Webhooks
// recommends, so a leaked one is recognisable.
const secretPrefix = "whsec_"

// ErrBadSecret is returned for a signing secret that is not "whsec_" followed
// by base64 of 24 to 64 bytes.
var ErrBadSecret = errors.New("webhook secret must be whsec_ followed by base64 of 24 to 64 bytes")

// NewSecret returns a new random signing secret: "whsec_" and the base64 of
// 32 random bytes.
func NewSecret() string {
	var b [32]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	return secretPrefix + base64.StdEncoding.EncodeToString(b[:])
}

// ParseSecret returns the key bytes of a "whsec_…" secret.
func ParseSecret(s string) ([]byte, error) {
	rest, ok := strings.CutPrefix(s, secretPrefix)
	if !ok {
		return nil, ErrBadSecret
	}
	key, err := base64.StdEncoding.DecodeString(rest)
	if err != nil || len(key) < 24 || len(key) > 64 {
		return nil, ErrBadSecret
	}
	return key, nil
}

// Signature is the Standard Webhooks signature of one message: "v1," and the
// base64 of HMAC-SHA256 over "{id}.{unix seconds}.{body}".
func Signature(key []byte, id string, ts time.Time, body []byte) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(id))
	m.Write([]byte{'.'})
	m.Write(strconv.AppendInt(nil, ts.Unix(), 10))
	m.Write([]byte{'.'})
	m.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// SignHeaders sets webhook-id, webhook-timestamp and webhook-signature on h.
// With more than one key (during a secret rotation) the signature header
// carries one signature per key, space-separated, so receivers holding either
// secret accept the message.
func SignHeaders(h http.Header, keys [][]byte, id string, ts time.Time, body []byte) {
	sigs := make([]string, 0, len(keys))
	for _, k := range keys {
		sigs = append(sigs, Signature(k, id, ts, body))
	}
	h.Set("webhook-id", id)
	h.Set("webhook-timestamp", strconv.FormatInt(ts.Unix(), 10))
	h.Set("webhook-signature", strings.Join(sigs, " "))
}
