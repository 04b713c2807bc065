package ledger

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// opNames name the operations in the batch span's links.
var opNames = [opCount]string{opTransfer: "transfer", opDeposit: "deposit", opHold: "hold", opSettle: "settle", opVoid: "void", opReverse: "reverse"}

// traceBatch starts the span of one batch transaction (its statements are its children). A batch
// posts many requests' items, so the span is a child of the first sampled request among them
// (a sampled request finds, in its own trace, the batch that posted it; a batch with no sampled
// request is not recorded, and its statements, having no recording parent, neither) and is linked to the span of every request it carries, with the
// item's index and operation. Tracing off (no tracer): nothing is built.
func (s *Service) traceBatch(ctx context.Context, items []*item) (context.Context, trace.Span) {
	if s.tracer == nil {
		return ctx, trace.SpanFromContext(ctx)
	}
	parent := trace.SpanContextFromContext(items[0].ctx)
	for _, it := range items {
		if sc := trace.SpanContextFromContext(it.ctx); sc.IsSampled() {
			parent = sc
			break
		}
	}
	if !parent.IsSampled() {
		// No sampled request in the batch (or none traced: seeding, the expiry worker): the batch
		// is not recorded, and starts no trace of its own.
		return ctx, trace.SpanFromContext(ctx)
	}
	ctx = trace.ContextWithSpanContext(ctx, parent)
	links := make([]trace.Link, 0, len(items))
	for i, it := range items {
		if sc := trace.SpanContextFromContext(it.ctx); sc.IsValid() {
			links = append(links, trace.Link{SpanContext: sc, Attributes: []attribute.KeyValue{
				attribute.Int("flowxi.batch.index", i), attribute.String("flowxi.batch.op", opNames[it.op])}})
		}
	}
	return s.tracer.Start(ctx, "ledger.batch", trace.WithLinks(links...), trace.WithAttributes(
		attribute.Int("flowxi.batch.size", len(items)),
		attribute.Int("flowxi.batch.workers", s.eng.workers),
		attribute.Int("flowxi.batch.max", s.eng.maxBatch)))
}

// traceBatchFailed marks the batch span of a batch that failed as a whole (its items are then
// retried alone, each in a batch span of its own).
func traceBatchFailed(span trace.Span, err error) {
	span.RecordError(err)
	span.SetStatus(codes.Error, "batch failed")
}
