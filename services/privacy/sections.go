package privacy

import (
	"context"

	openapi_types "github.com/oapi-codegen/runtime/types"

	"github.com/flowxi/backend/gen/api"
	"github.com/flowxi/backend/gen/db"
	"github.com/flowxi/backend/kit/apitime"
	"github.com/flowxi/backend/kit/i18n"
	"github.com/flowxi/backend/services/profile/securitylog"
)

// identitySections: notification preferences, sessions, devices, e-mailed codes, magic links
// and recovery codes (when, never the secrets).
func identitySections(ctx context.Context, q *db.Queries, u db.User, doc *api.PersonalDataExport) error {
	prefs, err := q.ExportNotificationPreferences(ctx, u.ID)
	if err != nil {
		return err
	}
	doc.NotificationPreferences = make([]api.ExportNotificationPreferences, 0, len(prefs))
	for _, p := range prefs {
		doc.NotificationPreferences = append(doc.NotificationPreferences, api.ExportNotificationPreferences{
			EmailEnabled: p.EmailEnabled, InappEnabled: p.InappEnabled, PushEnabled: p.PushEnabled, CreatedAt: apitime.Format(p.CreatedAt)})
	}
	sessions, err := q.ExportSessions(ctx, u.ID)
	if err != nil {
		return err
	}
	doc.Sessions = make([]api.ExportSession, 0, len(sessions))
	for _, t := range sessions {
		doc.Sessions = append(doc.Sessions, api.ExportSession{Id: t.ID, DeviceId: t.DeviceID, DeviceType: t.DeviceType,
			DeviceName: t.DeviceName, Country: t.Country, Ip: t.Ip, UserAgent: t.UserAgent, CreatedAt: apitime.Format(t.CreatedAt),
			LastUsedAt: apitime.FormatPtr(t.LastUsedAt), ExpiresAt: apitime.Format(t.ExpiresAt), RevokedAt: apitime.FormatPtr(t.RevokedAt)})
	}
	devices, err := q.ExportKnownDevices(ctx, u.ID)
	if err != nil {
		return err
	}
	doc.KnownDevices = make([]api.ExportKnownDevice, 0, len(devices))
	for _, d := range devices {
		doc.KnownDevices = append(doc.KnownDevices, api.ExportKnownDevice{DeviceId: d.DeviceID, FirstSeen: apitime.Format(d.FirstSeen)})
	}
	return credentialSections(ctx, q, u, doc)
}

// credentialSections: e-mailed codes, magic links and recovery codes.
func credentialSections(ctx context.Context, q *db.Queries, u db.User, doc *api.PersonalDataExport) error {
	codes, err := q.ExportEmailCodes(ctx, u.ID)
	if err != nil {
		return err
	}
	doc.EmailCodes = make([]api.ExportEmailCode, 0, len(codes))
	for _, c := range codes {
		doc.EmailCodes = append(doc.EmailCodes, api.ExportEmailCode{Purpose: api.ExportEmailCodePurpose(c.Purpose), Attempts: int(c.Attempts),
			CreatedAt: apitime.Format(c.CreatedAt), ExpiresAt: apitime.Format(c.ExpiresAt)})
	}
	links, err := q.ExportMagicLinks(ctx, u.ID)
	if err != nil {
		return err
	}
	doc.MagicLinks = make([]api.ExportMagicLink, 0, len(links))
	for _, l := range links {
		doc.MagicLinks = append(doc.MagicLinks, api.ExportMagicLink{Id: l.ID, CreatedAt: apitime.Format(l.CreatedAt),
			ExpiresAt: apitime.Format(l.ExpiresAt), UsedAt: apitime.FormatPtr(l.UsedAt)})
	}
	recovery, err := q.ExportRecoveryCodes(ctx, u.ID)
	if err != nil {
		return err
	}
	doc.RecoveryCodes = make([]api.ExportRecoveryCode, 0, len(recovery))
	for _, r := range recovery {
		doc.RecoveryCodes = append(doc.RecoveryCodes, api.ExportRecoveryCode{Id: r.ID, CreatedAt: apitime.Format(r.CreatedAt), UsedAt: apitime.FormatPtr(r.UsedAt)})
	}
	return nil
}

// securitySections: every audit row about the user, with the security log's localized description.
func securitySections(ctx context.Context, q *db.Queries, u db.User, doc *api.PersonalDataExport) error {
	rows, err := q.ExportAuditEvents(ctx, &u.ID)
	if err != nil {
		return err
	}
	lang := i18n.Lang(ctx)
	doc.AuditEvents = make([]api.ExportAuditEvent, 0, len(rows))
	for _, r := range rows {
		doc.AuditEvents = append(doc.AuditEvents, api.ExportAuditEvent{Id: r.ID, OccurredAt: apitime.Format(r.OccurredAt),
			ActorType: r.ActorType, ActorId: r.ActorID, Action: r.Action, Description: securitylog.Describe(lang, r.Action),
			SubjectType: r.SubjectType, SubjectId: r.SubjectID, Ip: r.Ip, UserAgent: r.UserAgent, RequestId: r.RequestID,
			Details: object(r.Details)})
	}
	return nil
}

// moneySections: the wallets, every transaction they took part in, and their ledger entries.
func moneySections(ctx context.Context, q *db.Queries, u db.User, doc *api.PersonalDataExport) error {
	wallets, err := q.ExportWallets(ctx, &u.ID)
	if err != nil {
		return err
	}
	doc.Wallets = make([]api.ExportWallet, 0, len(wallets))
	for _, w := range wallets {
		doc.Wallets = append(doc.Wallets, api.ExportWallet{Id: w.ID, Currency: w.Currency, Status: api.WalletStatus(w.Status),
			Balance: w.Balance, Pending: w.Pending, CreatedAt: apitime.Format(w.CreatedAt), UpdatedAt: apitime.Format(w.UpdatedAt)})
	}
	txs, err := q.ExportWalletTransactions(ctx, &u.ID)
	if err != nil {
		return err
	}
	doc.Transactions = make([]api.ExportTransaction, 0, len(txs))
	for _, t := range txs {
		doc.Transactions = append(doc.Transactions, api.ExportTransaction{Id: t.ID, Kind: t.Kind, Status: t.Status, Currency: t.Currency,
			Amount: t.Amount, FromAccountId: t.FromAccountID, ToAccountId: t.ToAccountID, FailureCode: t.FailureCode,
			InitiatorType: t.InitiatorType, Note: t.Note, ExternalRef: t.ExternalRef, CreatedAt: apitime.Format(t.CreatedAt),
			FinalizedAt: apitime.FormatPtr(t.FinalizedAt)})
	}
	entries, err := q.ExportWalletEntries(ctx, &u.ID)
	if err != nil {
		return err
	}
	doc.LedgerEntries = make([]api.ExportLedgerEntry, 0, len(entries))
	for _, e := range entries {
		doc.LedgerEntries = append(doc.LedgerEntries, api.ExportLedgerEntry{Id: e.ID, TransactionId: e.TransactionID, AccountId: e.AccountID,
			Amount: e.Amount, BalanceAfter: e.BalanceAfter, Version: e.Version, CreatedAt: apitime.Format(e.CreatedAt)})
	}
	return nil
}

// complianceSections: the cases and their history, the KYC/KYB data, the documents (signed links)
// and the restrictions.
func (s *Privacy) complianceSections(ctx context.Context, q *db.Queries, u db.User, doc *api.PersonalDataExport) error {
	cases, err := q.ExportComplianceCases(ctx, u.ID)
	if err != nil {
		return err
	}
	doc.ComplianceCases = make([]api.ExportComplianceCase, 0, len(cases))
	for _, c := range cases {
		doc.ComplianceCases = append(doc.ComplianceCases, api.ExportComplianceCase{Id: c.ID, Kind: api.CaseKind(c.Kind),
			Status: api.CaseStatus(c.Status), DecisionReason: c.DecisionReason, SubmittedAt: apitime.FormatPtr(c.SubmittedAt),
			DecidedAt: apitime.FormatPtr(c.DecidedAt), CreatedAt: apitime.Format(c.CreatedAt), UpdatedAt: apitime.Format(c.UpdatedAt)})
	}
	history, err := q.ExportCaseHistory(ctx, u.ID)
	if err != nil {
		return err
	}
	doc.ComplianceCaseHistory = make([]api.ExportCaseTransition, 0, len(history))
	for _, h := range history {
		doc.ComplianceCaseHistory = append(doc.ComplianceCaseHistory, api.ExportCaseTransition{Id: h.ID, CaseId: h.CaseID,
			From: h.FromStatus, To: h.ToStatus, ActorType: h.ActorType, Reason: h.Reason, OccurredAt: apitime.Format(h.OccurredAt)})
	}
	if err := personalData(ctx, q, u, doc); err != nil {
		return err
	}
	if err := s.documents(ctx, q, u, doc); err != nil {
		return err
	}
	restrictions, err := q.ExportRestrictions(ctx, u.ID)
	if err != nil {
		return err
	}
	doc.Restrictions = make([]api.ExportRestriction, 0, len(restrictions))
	for _, r := range restrictions {
		doc.Restrictions = append(doc.Restrictions, api.ExportRestriction{Id: r.ID, Reason: r.Reason, CreatedAt: apitime.Format(r.CreatedAt),
			LiftedAt: apitime.FormatPtr(r.LiftedAt), LiftReason: r.LiftReason})
	}
	return twofaResets(ctx, q, u, doc)
}

// twofaResets: support's requests to reset the user's 2FA.
func twofaResets(ctx context.Context, q *db.Queries, u db.User, doc *api.PersonalDataExport) error {
	resets, err := q.ExportTwofaResets(ctx, u.ID)
	if err != nil {
		return err
	}
	doc.TwofaResets = make([]api.ExportTwofaReset, 0, len(resets))
	for _, r := range resets {
		doc.TwofaResets = append(doc.TwofaResets, api.ExportTwofaReset{Id: r.ID, Status: api.ExportTwofaResetStatus(r.Status),
			RequestedBy: r.RequestedBy, RequestReason: r.RequestReason, RequestedAt: apitime.Format(r.RequestedAt),
			ExpiresAt: apitime.Format(r.ExpiresAt), ApprovedBy: r.ApprovedBy, ApprovalReason: r.ApprovalReason,
			ApprovedAt: apitime.FormatPtr(r.ApprovedAt)})
	}
	return nil
}

// personalData: the KYC and KYB data as submitted.
func personalData(ctx context.Context, q *db.Queries, u db.User, doc *api.PersonalDataExport) error {
	kyc, err := q.ExportKYCData(ctx, u.ID)
	if err != nil {
		return err
	}
	doc.KycData = make([]api.ExportKycData, 0, len(kyc))
	for _, k := range kyc {
		doc.KycData = append(doc.KycData, api.ExportKycData{CaseId: k.CaseID, FirstName: k.FirstName, LastName: k.LastName,
			BirthDate: openapi_types.Date{Time: k.BirthDate}, Nationality: k.Nationality, Country: k.Country,
			AddressLine1: k.AddressLine1, AddressLine2: k.AddressLine2, City: k.City, PostalCode: k.PostalCode, UpdatedAt: apitime.Format(k.UpdatedAt)})
	}
	kyb, err := q.ExportKYBData(ctx, u.ID)
	if err != nil {
		return err
	}
	doc.KybData = make([]api.ExportKybData, 0, len(kyb))
	for _, k := range kyb {
		doc.KybData = append(doc.KybData, api.ExportKybData{CaseId: k.CaseID, LegalName: k.LegalName, RegistrationNumber: k.RegistrationNumber,
			Country: k.Country, BeneficialOwners: objects(k.BeneficialOwners), UpdatedAt: apitime.Format(k.UpdatedAt)})
	}
	return nil
}

// documents: every compliance document with a signed, short-lived download link.
func (s *Privacy) documents(ctx context.Context, q *db.Queries, u db.User, doc *api.PersonalDataExport) error {
	docs, err := q.ExportDocuments(ctx, u.ID)
	if err != nil {
		return err
	}
	doc.ComplianceDocuments = make([]api.ExportDocument, 0, len(docs))
	for _, d := range docs {
		url, err := s.objects.SignedURL(ctx, d.StorageKey, LinkTTL)
		if err != nil {
			return err
		}
		doc.ComplianceDocuments = append(doc.ComplianceDocuments, api.ExportDocument{Id: d.ID, CaseId: d.CaseID, Kind: api.DocumentKind(d.Kind),
			MimeType: d.MimeType, SizeBytes: d.SizeBytes, Sha256: hexSum(d.Sha256), CreatedAt: apitime.Format(d.CreatedAt), Url: url})
	}
	return nil
}

// feedSections: the domain events about the user still in the feed, and the e-mails sent to them.
func feedSections(ctx context.Context, q *db.Queries, u db.User, doc *api.PersonalDataExport) error {
	evs, err := q.ExportEvents(ctx, &u.ID)
	if err != nil {
		return err
	}
	doc.Events = make([]api.ExportEvent, 0, len(evs))
	for _, e := range evs {
		doc.Events = append(doc.Events, api.ExportEvent{Id: e.ID, Type: e.Type, OccurredAt: apitime.Format(e.OccurredAt),
			SubjectType: e.SubjectType, SubjectId: e.SubjectID, Data: object(e.Data)})
	}
	mails, err := q.ExportMail(ctx, u.Email)
	if err != nil {
		return err
	}
	doc.Emails = make([]api.ExportEmail, 0, len(mails))
	for _, m := range mails {
		doc.Emails = append(doc.Emails, api.ExportEmail{Id: m.ID, Template: m.Template, Locale: m.Locale, Subject: m.Subject,
			Status: m.Status, CreatedAt: apitime.Format(m.CreatedAt), SentAt: apitime.FormatPtr(m.SentAt)})
	}
	return nil
}
