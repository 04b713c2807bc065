// Package health answers GET /api/v1/health by checking PostgreSQL and Redis for real.
package health

import (
	"context"
	"time"

	"github.com/flowxi/backend/gen/api"
	"github.com/flowxi/backend/kit/i18n"
)

// Pinger is anything that can be checked.
type Pinger interface {
	Ping(ctx context.Context) error
}

// Checker checks the dependencies.
type Checker struct{ pg, redis Pinger }

// New builds the service.
func New(pg, redis Pinger) *Checker { return &Checker{pg: pg, redis: redis} }

// Health pings both dependencies with a short deadline; 503 names the one that failed.
func (s *Checker) Health(ctx context.Context, _ api.HealthRequestObject) (api.HealthResponseObject, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	check := func(p Pinger) api.CheckStatus {
		if p.Ping(ctx) != nil {
			return api.CheckStatusFail
		}
		return api.CheckStatusOk
	}
	checks := api.HealthChecks{Postgres: check(s.pg), Redis: check(s.redis)}
	if checks.Postgres == api.CheckStatusOk && checks.Redis == api.CheckStatusOk {
		return api.Health200JSONResponse{Code: "HEALTH_OK", Message: i18n.Msg(ctx, "HEALTH_OK"), Status: api.HealthResponseStatusOk, Checks: checks}, nil
	}
	return api.Health503JSONResponse{Code: "SERVICE_UNAVAILABLE", Message: i18n.Msg(ctx, "SERVICE_UNAVAILABLE"), Status: api.HealthResponseStatusFail, Checks: checks}, nil
}
