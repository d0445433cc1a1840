package emulator

import (
	"net/http"
	"net/url"
	"strconv"
)

// Admin endpoints under /_emulator/, for people and scripts driving a
// standalone emulator. They need no token: the emulator is a test double on
// a loopback address, and these change only the emulated tenant.

// adminStats is GET /_emulator/stats.
func (c *call) adminStats() *response { return marshalResponse(c.e.Stats()) }

// adminChurn is POST /_emulator/churn?fraction=0.01&seed=N.
func (c *call) adminChurn() *response {
	values, _ := url.ParseQuery(c.rawQ)
	fraction := 0.01
	if v := values.Get("fraction"); v != "" {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return c.adminError(http.StatusBadRequest, "fraction must be a number such as 0.01")
		}
		fraction = f
	}
	seed := uint64(c.t.seq)
	if v := values.Get("seed"); v != "" {
		s, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return c.adminError(http.StatusBadRequest, "seed must be a non-negative integer")
		}
		seed = s
	}
	sum, err := c.e.RandomChurn(fraction, seed)
	if err != nil {
		return c.adminError(http.StatusBadRequest, err.Error())
	}
	return marshalResponse(sum)
}

// adminExpireDelta is POST /_emulator/expire-delta-tokens.
func (c *call) adminExpireDelta() *response {
	c.e.ExpireDeltaTokens()
	return marshalResponse(map[string]string{"result": "every delta token issued so far now gets syncStateNotFound"})
}

// adminResyncDelta is POST /_emulator/resync-delta-tokens.
func (c *call) adminResyncDelta() *response {
	c.e.RequireResync()
	return marshalResponse(map[string]string{"result": "every delta token issued so far now gets 410 Gone"})
}

func (c *call) adminError(status int, msg string) *response {
	r := marshalResponse(map[string]string{"error": msg})
	r.status = status
	return r
}
