package synthetic

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"hash/fnv"
	"math/rand/v2"
	"time"

	"github.com/steward-dev/steward/internal/directory"
)

const day = 24 * time.Hour

// rng is one seeded random stream. Each part of the tenant (users, groups,
// apps, …) draws from its own stream, derived from the seed and the part's
// name, so that adding an object to one part never reshuffles the others.
type rng struct{ *rand.Rand }

func newRNG(seed uint64, profile, part string) *rng {
	h := fnv.New64a()
	h.Write([]byte(profile))
	h.Write([]byte{0})
	h.Write([]byte(part))
	return &rng{rand.New(rand.NewPCG(seed, h.Sum64()))}
}

// guid returns a lower-case GUID in the version-4 shape Entra ID uses.
func (r *rng) guid() string {
	var b [16]byte
	binary.LittleEndian.PutUint64(b[:8], r.Uint64())
	binary.LittleEndian.PutUint64(b[8:], r.Uint64())
	b[6] = b[6]&0x0f | 0x40 // version 4
	b[8] = b[8]&0x3f | 0x80 // RFC 4122 variant
	return formatGUID(b)
}

func formatGUID(b [16]byte) string {
	var out [36]byte
	hex.Encode(out[0:8], b[0:4])
	out[8] = '-'
	hex.Encode(out[9:13], b[4:6])
	out[13] = '-'
	hex.Encode(out[14:18], b[6:8])
	out[18] = '-'
	hex.Encode(out[19:23], b[8:10])
	out[23] = '-'
	hex.Encode(out[24:36], b[10:16])
	return string(out[:])
}

// guidBytes returns a GUID's bytes in the mixed-endian order .NET and
// Graph use when they base64-encode one.
func guidBytes(id string) [16]byte {
	var raw [16]byte
	hex.Decode(raw[0:4], []byte(id[0:8]))
	hex.Decode(raw[4:6], []byte(id[9:13]))
	hex.Decode(raw[6:8], []byte(id[14:18]))
	hex.Decode(raw[8:10], []byte(id[19:23]))
	hex.Decode(raw[10:16], []byte(id[24:36]))
	raw[0], raw[1], raw[2], raw[3] = raw[3], raw[2], raw[1], raw[0]
	raw[4], raw[5] = raw[5], raw[4]
	raw[6], raw[7] = raw[7], raw[6]
	return raw
}

// roleAssignmentID builds a role assignment id the way Graph does for
// assignments at the tenant scope: base64url of the role's and the
// principal's GUID bytes, then "-1".
func roleAssignmentID(roleID, principalID string) string {
	var b [32]byte
	r, p := guidBytes(roleID), guidBytes(principalID)
	copy(b[:16], r[:])
	copy(b[16:], p[:])
	return base64.RawURLEncoding.EncodeToString(b[:]) + "-1"
}

// appRoleAssignmentID builds an app role assignment id shaped like Graph's:
// base64url of the principal's GUID bytes followed by 16 random bytes.
func (r *rng) appRoleAssignmentID(principalID string) string {
	var b [32]byte
	p := guidBytes(principalID)
	copy(b[:16], p[:])
	binary.LittleEndian.PutUint64(b[16:24], r.Uint64())
	binary.LittleEndian.PutUint64(b[24:32], r.Uint64())
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// chance reports true with probability p.
func (r *rng) chance(p float64) bool { return r.Float64() < p }

// between returns an int in [lo, hi].
func (r *rng) between(lo, hi int) int { return lo + r.IntN(hi-lo+1) }

// span returns a duration in [lo, hi], in whole seconds as Graph reports times.
func (r *rng) span(lo, hi time.Duration) time.Duration {
	s := int64(lo / time.Second)
	return time.Duration(s+r.Int64N(int64(hi/time.Second)-s+1)) * time.Second
}

// pick returns a random element of list.
func pick[T any](r *rng, list []T) T { return list[r.IntN(len(list))] }

// weighted is a value with a relative weight.
type weighted[T any] struct {
	w int
	v T
}

// pickWeighted returns a value with probability proportional to its weight.
func pickWeighted[T any](r *rng, list []weighted[T]) T {
	total := 0
	for _, e := range list {
		total += e.w
	}
	n := r.IntN(total)
	for _, e := range list {
		if n < e.w {
			return e.v
		}
		n -= e.w
	}
	return list[len(list)-1].v
}

// ago returns the instant d before the capture time.
func (g *gen) ago(d time.Duration) directory.Time { return directory.NewTime(g.now.Add(-d)) }

// in returns the instant d after the capture time.
func (g *gen) in(d time.Duration) directory.Time { return directory.NewTime(g.now.Add(d)) }

// notBefore returns t, or shortly after floor when t would precede it (nobody
// signs in before their account exists), never after the capture time.
func (g *gen) notBefore(t, floor directory.Time, r *rng) directory.Time {
	if !t.Before(floor.Time) {
		return t
	}
	v := floor.Add(r.span(time.Hour, 3*day))
	if v.After(g.now) {
		v = g.now
	}
	return directory.NewTime(v)
}

func ptr[T any](v T) *T { return &v }
