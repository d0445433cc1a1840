package emulator

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"strings"
	"sync"
	"sync/atomic"
)

// signer issues and checks access tokens: JWTs signed with ES256, whose key
// the emulator publishes at its jwks_uri (Entra ID signs with RS256; nothing
// in Steward checks the algorithm, and ECDSA keys are instant to generate).
type signer struct {
	key *ecdsa.PrivateKey
	kid string

	// verified caches tokens already checked: a sync presents the same token
	// on thousands of requests, and an ECDSA verification per request would
	// be the emulator's largest cost.
	verified sync.Map // token → *tokenClaims
	cached   atomic.Int64
}

// tokenClaims are the claims the emulator reads back from its tokens.
type tokenClaims struct {
	Aud   string `json:"aud"`
	AppID string `json:"appid"`
	Tid   string `json:"tid"`
	Exp   int64  `json:"exp"`
	Nbf   int64  `json:"nbf"`
}

const maxVerifiedTokens = 10000

func newSigner() (*signer, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	return &signer{key: key, kid: base64.RawURLEncoding.EncodeToString(randomBytes(12))}, nil
}

var b64 = base64.RawURLEncoding

// sign returns a compact JWS of the claims.
func (s *signer) sign(claims any) string {
	header, _ := json.Marshal(map[string]string{"typ": "JWT", "alg": "ES256", "kid": s.kid})
	payload, _ := json.Marshal(claims)
	input := b64.EncodeToString(header) + "." + b64.EncodeToString(payload)
	sum := sha256.Sum256([]byte(input))
	r, sv, err := ecdsa.Sign(rand.Reader, s.key, sum[:])
	if err != nil {
		panic("emulator: ECDSA signing failed: " + err.Error()) // only when the system's randomness fails
	}
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	sv.FillBytes(sig[32:])
	return input + "." + b64.EncodeToString(sig)
}

// verify checks a token's signature and returns its claims.
func (s *signer) verify(token string) (*tokenClaims, bool) {
	if c, ok := s.verified.Load(token); ok {
		return c.(*tokenClaims), true
	}
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return nil, false
	}
	sig, err := b64.DecodeString(parts[2])
	if err != nil || len(sig) != 64 {
		return nil, false
	}
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	r, sv := new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])
	if !ecdsa.Verify(&s.key.PublicKey, sum[:], r, sv) {
		return nil, false
	}
	payload, err := b64.DecodeString(parts[1])
	if err != nil {
		return nil, false
	}
	var c tokenClaims
	if json.Unmarshal(payload, &c) != nil {
		return nil, false
	}
	if s.cached.Add(1) > maxVerifiedTokens {
		s.verified.Clear()
		s.cached.Store(0)
	}
	s.verified.Store(token, &c)
	return &c, true
}

// jwk is the public key in JWK form, for the jwks_uri.
func (s *signer) jwk() map[string]string {
	point, _ := s.key.PublicKey.Bytes() // 0x04 ‖ X ‖ Y for P-256
	return map[string]string{"kty": "EC", "use": "sig", "alg": "ES256", "crv": "P-256", "kid": s.kid,
		"x": b64.EncodeToString(point[1:33]), "y": b64.EncodeToString(point[33:65])}
}

// parseJWT decodes a JWT's claims without checking its signature.
func parseJWT(token string) (map[string]any, bool) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return nil, false
	}
	header, err := b64.DecodeString(strings.TrimRight(parts[0], "="))
	if err != nil || !json.Valid(header) {
		return nil, false
	}
	payload, err := b64.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return nil, false
	}
	var claims map[string]any
	if json.Unmarshal(payload, &claims) != nil {
		return nil, false
	}
	return claims, true
}
