package privacy

// Covered maps every table that holds something about a user to the export's section that
// carries its rows (the JSON key in PersonalDataExport), and says how a row is found: by its
// user_id, through the user's compliance cases, the user's wallets or the user's e-mail address.
// The schema test fails when a table with a user_id column or a foreign key to users is neither
// here nor in Excluded.
var Covered = map[string]Section{
	"users":                    {Key: "profile", By: "id"},
	"notification_preferences": {Key: "notification_preferences", By: "user_id"},
	"access_tokens":            {Key: "sessions", By: "user_id"},
	"known_devices":            {Key: "known_devices", By: "user_id"},
	"email_otps":               {Key: "email_codes", By: "user_id"},
	"magic_links":              {Key: "magic_links", By: "user_id"},
	"twofa_recovery_codes":     {Key: "recovery_codes", By: "user_id"},
	"audit_events":             {Key: "audit_events", By: "user_id"},
	"ledger_accounts":          {Key: "wallets", By: "user_id"},
	"ledger_transactions":      {Key: "transactions", By: "wallet"},
	"ledger_entries":           {Key: "ledger_entries", By: "wallet"},
	"compliance_cases":         {Key: "compliance_cases", By: "user_id"},
	"compliance_case_history":  {Key: "compliance_case_history", By: "case"},
	"compliance_kyc_data":      {Key: "kyc_data", By: "case"},
	"compliance_kyb_data":      {Key: "kyb_data", By: "case"},
	"compliance_documents":     {Key: "compliance_documents", By: "case"},
	"compliance_restrictions":  {Key: "restrictions", By: "user_id"},
	"support_twofa_resets":     {Key: "twofa_resets", By: "user_id"},
	"events":                   {Key: "events", By: "user_id"},
	"mail_outbox":              {Key: "emails", By: "email"},
}

// Section names where a table's rows are in the export and how they are tied to the user.
type Section struct {
	Key string // the export's JSON key
	By  string // id (the users row), user_id, case, wallet or email
}

// Excluded lists the tables a user's data could be linked to that the export leaves out, with
// the reason. None has a user_id column or a foreign key to users today; they are listed so that
// the choice is explicit.
var Excluded = map[string]string{
	"idempotency_keys":   "24-hour replay records of money requests: the stored outcome is the transaction already exported",
	"webhook_deliveries": "deliveries of the events already exported (events), to internal subscribers",
	"webhook_attempts":   "HTTP outcomes of those deliveries: the receiver's answer, nothing about the user",
	"storage_deletions":  "object keys waiting for deletion: objects nothing refers to any more",
	"event_feed":         "feed positions of the events already exported",
}
