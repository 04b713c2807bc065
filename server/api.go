package server

import (
	"github.com/flowxi/backend/gen/api"
	"github.com/flowxi/backend/services/compliance"
	"github.com/flowxi/backend/services/docs"
	"github.com/flowxi/backend/services/events"
	"github.com/flowxi/backend/services/health"
	"github.com/flowxi/backend/services/identity"
	"github.com/flowxi/backend/services/identity/internalkeys"
	"github.com/flowxi/backend/services/ledger"
	"github.com/flowxi/backend/services/privacy"
	"github.com/flowxi/backend/services/profile"
	"github.com/flowxi/backend/services/profile/securitylog"
	"github.com/flowxi/backend/services/registration"
	"github.com/flowxi/backend/services/support"
	"github.com/flowxi/backend/services/twofactor"
	"github.com/flowxi/backend/services/webhooks"
)

// API composes the services into the one value that satisfies the generated strict interface.
// Each service's exported methods are named by the spec's operationIds.
type API struct {
	*health.Checker
	*identity.Identity
	*registration.Registration
	*twofactor.TwoFactor
	*profile.Profile
	*securitylog.SecurityEvents
	*docs.Docs
	*ledger.Service
	*compliance.Compliance
	*webhooks.Webhooks
	*events.Feed
	*privacy.Privacy
	*support.Support
	*InternalKeys
}

// InternalKeys is the internal keys' service under a name of its own (the ledger's is Service).
type InternalKeys = internalkeys.Service

var _ api.StrictServerInterface = (*API)(nil)
