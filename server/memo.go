package server

import (
	"encoding/binary"
	"fmt"
	"hash/maphash"
	"math"
	"reflect"
	"slices"
	"time"
)

// A rebuild re-renders only what changed. Each document and fragment is
// keyed by a 64-bit hash of everything it is made from; when the key equals
// the previous rebuild's, the previous bytes (and their compressed forms)
// are reused. Keys never leave the process, so the seed is random per
// process.

var keySeed = maphash.MakeSeed()

// keyHash builds a key. Each write is framed (strings end in a 0 byte,
// numbers have a fixed width), so different sequences of values do not
// collide by concatenation.
type keyHash struct{ h maphash.Hash }

func newKeyHash() *keyHash {
	k := &keyHash{}
	k.h.SetSeed(keySeed)
	return k
}

func (k *keyHash) str(s string) *keyHash {
	_, _ = k.h.WriteString(s) // maphash writes never fail
	_ = k.h.WriteByte(0)
	return k
}

func (k *keyHash) u64(v uint64) *keyHash {
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], v)
	_, _ = k.h.Write(b[:])
	return k
}

func (k *keyHash) i64(v int64) *keyHash { return k.u64(uint64(v)) }

func (k *keyHash) flag(b bool) *keyHash {
	if b {
		return k.u64(1)
	}
	return k.u64(0)
}

func (k *keyHash) time(t time.Time) *keyHash {
	if t.IsZero() {
		return k.u64(0).u64(0)
	}
	return k.u64(1).i64(t.UnixNano())
}

// value hashes any value made of structs, slices, arrays, maps, pointers,
// strings, numbers, booleans and times, field by field. Keys of data
// types (data.Component, data.Incident) are made this way so that a field
// added to them later is part of the key without anyone remembering to add
// it: a stale page is worse than a needless render.
func (k *keyHash) value(v reflect.Value) *keyHash {
	switch v.Kind() {
	case reflect.String:
		return k.str(v.String())
	case reflect.Bool:
		return k.flag(v.Bool())
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return k.i64(v.Int())
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return k.u64(v.Uint())
	case reflect.Float32, reflect.Float64:
		return k.u64(math.Float64bits(v.Float()))
	case reflect.Struct:
		if v.Type() == timeType {
			if v.CanInterface() {
				return k.time(v.Interface().(time.Time))
			}
			break
		}
		k.u64(uint64(v.NumField()))
		for i := range v.NumField() {
			k.value(v.Field(i))
		}
		return k
	case reflect.Slice, reflect.Array:
		k.u64(uint64(v.Len()))
		for i := range v.Len() {
			k.value(v.Index(i))
		}
		return k
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return k.u64(0)
		}
		return k.u64(1).value(v.Elem())
	case reflect.Map:
		keys := v.MapKeys()
		slices.SortFunc(keys, func(a, b reflect.Value) int {
			sa, sb := fmt.Sprint(a), fmt.Sprint(b)
			switch {
			case sa < sb:
				return -1
			case sa > sb:
				return 1
			}
			return 0
		})
		k.u64(uint64(len(keys)))
		for _, mk := range keys {
			k.value(mk).value(v.MapIndex(mk))
		}
		return k
	}
	// Anything else (functions, channels, an unexported time) cannot be
	// part of what a page shows; a panic in tests says a key needs care.
	panic(fmt.Sprintf("server: cannot hash a %s for a render key", v.Type()))
}

var timeType = reflect.TypeFor[time.Time]()

func (k *keyHash) any(v any) *keyHash { return k.value(reflect.ValueOf(v)) }

func (k *keyHash) sum() uint64 {
	s := k.h.Sum64()
	if s == 0 {
		s = 1 // 0 means "no key"
	}
	return s
}

// memo keeps values from one rebuild to the next. A value not used by a
// rebuild is dropped at the following one, so a memo holds at most what two
// rebuilds used. It is not safe for concurrent use: rebuilds hold
// Server.buildMu.
type memo[V any] struct {
	prev, cur map[uint64]V
}

func (m *memo[V]) get(k uint64) (V, bool) {
	if v, ok := m.cur[k]; ok {
		return v, true
	}
	v, ok := m.prev[k]
	if ok {
		m.cur[k] = v
	}
	return v, ok
}

func (m *memo[V]) put(k uint64, v V) {
	if m.cur == nil {
		m.cur = map[uint64]V{}
	}
	m.cur[k] = v
}

// turn starts a rebuild: what the last one used becomes the previous
// generation.
func (m *memo[V]) turn() {
	m.prev, m.cur = m.cur, make(map[uint64]V, len(m.cur))
}
