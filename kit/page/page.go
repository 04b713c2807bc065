// Package page reads the keyset-pagination parameters every list operation takes: the page size
// and an opaque cursor, which is the id of the last row of the previous page.
package page

import (
	"math"
	"strconv"

	"github.com/flowxi/backend/kit/apierr"
)

// Limit is the page size asked for, or def when none was.
func Limit(asked *int, def int) int {
	if asked == nil {
		return def
	}
	return *asked
}

// Before reads the cursor of a newest-first list: the rows to list have ids below it (the first
// page: every id). A cursor that is no positive id is 422 on `cursor`.
func Before(cursor *string) (int64, error) {
	if cursor == nil {
		return math.MaxInt64, nil
	}
	c, err := strconv.ParseInt(*cursor, 10, 64)
	if err != nil || c <= 0 {
		return 0, apierr.Invalid("cursor", "invalid")
	}
	return c, nil
}

// After reads the cursor of an oldest-first list: the rows to list have ids above it (the first
// page: from 0). A cursor that is no id is 422 on `cursor`.
func After(cursor *string) (int64, error) { return AfterOn("cursor", cursor) }

// AfterOn is After for a cursor passed in the parameter named field.
func AfterOn(field string, cursor *string) (int64, error) {
	if cursor == nil {
		return 0, nil
	}
	c, err := strconv.ParseInt(*cursor, 10, 64)
	if err != nil || c < 0 {
		return 0, apierr.Invalid(field, "invalid")
	}
	return c, nil
}

// Cut trims a page read with limit+1 rows to limit and returns the cursor of the next page —
// the id of the last row kept — or nil when this page is the last.
func Cut[T any](rows []T, limit int, id func(T) int64) ([]T, *string) {
	if len(rows) <= limit {
		return rows, nil
	}
	rows = rows[:limit]
	next := strconv.FormatInt(id(rows[limit-1]), 10)
	return rows, &next
}
