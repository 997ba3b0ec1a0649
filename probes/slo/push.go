package slo

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/statusd/statusd/data"
)

// Limits of one push.
const (
	MaxPushEvents = 10000
	MaxPushBytes  = 1 << 20
)

// ParseEvents reads a pushed batch:
//
//	{"events": [{"time": "2026-06-10T12:00:00Z", "good": 998, "total": 1000}, …]}
//
// time is RFC 3339 or Unix seconds; good and total are whole numbers. It
// refuses unknown keys, missing fields, more than MaxPushEvents events,
// more than MaxPushBytes, and anything after the object, with an
// *data.InvalidError naming the place ("events[3].good"). Counts and times
// are checked against the SLO by Engine.Push.
func ParseEvents(body []byte) ([]Event, error) {
	if len(body) > MaxPushBytes {
		return nil, data.Invalid("body", "is %d bytes; the limit is %d (1 MiB)", len(body), MaxPushBytes)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	var batch struct {
		Events *[]json.RawMessage `json:"events"`
	}
	if err := dec.Decode(&batch); err != nil {
		return nil, jsonError("body", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, data.Invalid("body", "has more after the JSON object")
	}
	if batch.Events == nil {
		return nil, data.Invalid("events", "is missing; send {\"events\": [{\"time\": …, \"good\": …, \"total\": …}]}")
	}
	raw := *batch.Events
	if len(raw) == 0 {
		return nil, data.Invalid("events", "is empty")
	}
	if len(raw) > MaxPushEvents {
		return nil, data.Invalid("events", "has %d events; the limit is %d a batch", len(raw), MaxPushEvents)
	}
	out := make([]Event, 0, len(raw))
	for i, r := range raw {
		field := fmt.Sprintf("events[%d]", i)
		var ev struct {
			Time  json.RawMessage `json:"time"`
			Good  json.RawMessage `json:"good"`
			Total json.RawMessage `json:"total"`
		}
		d := json.NewDecoder(bytes.NewReader(r))
		d.DisallowUnknownFields()
		if err := d.Decode(&ev); err != nil {
			return nil, jsonError(field, err)
		}
		t, err := parseTime(ev.Time)
		if err != nil {
			return nil, data.Invalid(field+".time", "%s", err.Error())
		}
		good, err := parseCount(ev.Good)
		if err != nil {
			return nil, data.Invalid(field+".good", "%s", err.Error())
		}
		total, err := parseCount(ev.Total)
		if err != nil {
			return nil, data.Invalid(field+".total", "%s", err.Error())
		}
		out = append(out, Event{Time: t, Good: good, Total: total})
	}
	return out, nil
}

// jsonError turns a decoding error into words for the client.
func jsonError(field string, err error) error {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.Is(err, io.EOF):
		return data.Invalid(field, "is empty; send a JSON object")
	case errors.As(err, &se):
		return data.Invalid(field, "is not valid JSON at byte %d: %s", se.Offset, se.Error())
	case errors.As(err, &te):
		where := field
		if te.Field != "" {
			where = field + "." + te.Field
		}
		return data.Invalid(where, "must be %s, not a JSON %s", jsonKind(te.Type.Kind().String()), te.Value)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return data.Invalid(field, "has an unknown key %s", strings.TrimPrefix(err.Error(), "json: unknown field "))
	case errors.Is(err, io.ErrUnexpectedEOF):
		return data.Invalid(field, "ends before the JSON is complete")
	}
	return data.Invalid(field, "is not valid JSON")
}

func jsonKind(k string) string {
	switch k {
	case "slice":
		return "a list"
	case "struct", "map", "ptr":
		return "an object"
	}
	return "a " + k
}

func parseTime(raw json.RawMessage) (time.Time, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return time.Time{}, errors.New("is missing")
	}
	var s string
	if raw[0] == '"' {
		if err := json.Unmarshal(raw, &s); err != nil {
			return time.Time{}, errors.New("is not a string")
		}
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return time.Time{}, fmt.Errorf("%q is not an RFC 3339 time such as 2026-06-10T12:00:00Z", truncate(s, 40))
		}
		return t, nil
	}
	f, err := strconv.ParseFloat(string(raw), 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || f < 0 || f > 1e11 {
		return time.Time{}, fmt.Errorf("%s is not an RFC 3339 time or Unix seconds", truncate(string(raw), 40))
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9)).UTC(), nil
}

func parseCount(raw json.RawMessage) (int64, error) {
	s := string(raw)
	if s == "" || s == "null" {
		return 0, errors.New("is missing")
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		if f, ferr := strconv.ParseFloat(s, 64); ferr == nil && f == math.Trunc(f) && math.Abs(f) < 1<<53 {
			return int64(f), nil // 1e3, 5.0
		}
		return 0, fmt.Errorf("%s is not a whole number", truncate(s, 40))
	}
	return v, nil
}

func truncate(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n]) + "…"
	}
	return s
}

// TokenAuth checks push tokens from the configuration: one for every SLO,
// and one per SLO. Tokens are compared as SHA-256 digests in constant time,
// so neither their content nor their length leaks through timing. It stands
// in for scoped API tokens (slo:write) behind the server's small interface.
type TokenAuth struct {
	all    [][32]byte            // tokens for every SLO
	perSLO map[string][][32]byte // tokens for one SLO
}

// NewTokenAuth makes a TokenAuth from the token for every SLO (may be "")
// and per-SLO tokens (SLO id → token; empty ones are ignored).
func NewTokenAuth(all string, perSLO map[string]string) *TokenAuth {
	a := &TokenAuth{perSLO: map[string][][32]byte{}}
	if all != "" {
		a.all = append(a.all, sha256.Sum256([]byte(all)))
	}
	for id, tok := range perSLO {
		if tok != "" {
			a.perSLO[id] = append(a.perSLO[id], sha256.Sum256([]byte(tok)))
		}
	}
	return a
}

// Enabled reports whether any token is configured.
func (a *TokenAuth) Enabled() bool { return len(a.all) > 0 || len(a.perSLO) > 0 }

// AllowPush says whether token is a known token (authenticated) and
// whether it may push events for sloID (allowed). Every configured token is
// compared, whatever matches, so the time taken does not depend on which.
func (a *TokenAuth) AllowPush(_ context.Context, token, sloID string) (authenticated, allowed bool) {
	if token == "" {
		return false, false
	}
	h := sha256.Sum256([]byte(token))
	for _, d := range a.all {
		if subtle.ConstantTimeCompare(h[:], d[:]) == 1 {
			authenticated, allowed = true, true
		}
	}
	for id, ds := range a.perSLO {
		for _, d := range ds {
			if subtle.ConstantTimeCompare(h[:], d[:]) == 1 {
				authenticated = true
				if id == sloID {
					allowed = true
				}
			}
		}
	}
	return authenticated, allowed
}
