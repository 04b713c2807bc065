package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/flowxi/backend/config"
	"github.com/flowxi/backend/kit/clock"
	"github.com/flowxi/backend/services/audit"
)

func init() { commands["audit verify"] = auditVerify }

// auditVerify walks the audit hash chain; it exits non-zero on the first broken row or when rows
// have stayed unsealed for longer than AUDIT_STALE_AFTER.
func auditVerify(ctx context.Context, cfg config.Config, _ []string) error {
	st, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	rep, err := audit.Verify(ctx, st, clock.System{}.Now(), cfg.AuditStaleAfter)
	if err != nil {
		return err
	}
	fmt.Printf("audit verify: %d sealed rows checked\n", rep.Checked)
	if rep.BrokenSeq != 0 {
		fmt.Printf("audit verify: BROKEN at seq %d (audit_events.id %d): %s\n", rep.BrokenSeq, rep.BrokenID, rep.Reason)
	}
	if rep.StaleUnsealed > 0 {
		fmt.Printf("audit verify: %d rows unsealed for more than %s\n", rep.StaleUnsealed, cfg.AuditStaleAfter)
	}
	if !rep.OK() {
		return errors.New("audit chain verification failed")
	}
	fmt.Println("audit verify: OK")
	return nil
}
