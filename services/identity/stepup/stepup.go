// Package stepup records short step-up windows granted by /auth/2fa/verify to one token, and
// lets money-out operations require one from users who have 2FA.
package stepup

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/flowxi/backend/infra/cache"
	"github.com/flowxi/backend/kit/apierr"
)

// Window is how long a step-up lasts.
const Window = 5 * time.Minute

// ErrRequired is 403 STEP_UP_REQUIRED.
var ErrRequired = apierr.New(http.StatusForbidden, "STEP_UP_REQUIRED")

// Grants stores step-up windows in Redis.
type Grants struct{ c *cache.Cache }

// New builds the store.
func New(c *cache.Cache) *Grants { return &Grants{c: c} }

func (g *Grants) key(tokenID int64) string {
	return g.c.Key("stepup", "{tok"+strconv.FormatInt(tokenID, 10)+"}")
}

// Grant opens a window for the token.
func (g *Grants) Grant(ctx context.Context, tokenID int64) error {
	return g.c.R.Set(ctx, g.key(tokenID), "1", Window).Err()
}

// Active reports whether the token has a live window.
func (g *Grants) Active(ctx context.Context, tokenID int64) (bool, error) {
	n, err := g.c.R.Exists(ctx, g.key(tokenID)).Result()
	return n == 1, err
}

// Require returns STEP_UP_REQUIRED when a 2FA user's token has no live window; users without
// 2FA pass.
func (g *Grants) Require(ctx context.Context, tokenID int64, twofaEnabled bool) error {
	if !twofaEnabled {
		return nil
	}
	ok, err := g.Active(ctx, tokenID)
	if err != nil {
		return err
	}
	if !ok {
		return ErrRequired
	}
	return nil
}

// Revoke closes the window (logout).
func (g *Grants) Revoke(ctx context.Context, tokenID int64) error {
	return g.c.R.Del(ctx, g.key(tokenID)).Err()
}
