package webhooks

import "context"

// WakeStuck runs the fan-out's sweep now (tests).
func (s *Webhooks) WakeStuck(ctx context.Context) error { return s.wakeStuck(ctx) }
