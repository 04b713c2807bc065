// Package page reads the keyset-pagination parameters every list operation takes: the page size
// and an opaque cursor, which is the id of the last row of the previous page.
package page

import (
	"math"
	"strconv"
	"strings"

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

// Key is a place in a list ordered by two numbers (a position, then an id), newest first: the
// cursor "<position>.<id>" of a page's last row.
type Key struct{ Pos, ID int64 }

// String is the cursor naming k.
func (k Key) String() string {
	return strconv.FormatInt(k.Pos, 10) + "." + strconv.FormatInt(k.ID, 10)
}

// BeforeKey reads the cursor of a newest-first list keyed by (position, id): the rows to list
// come below it (the first page: every row). A cursor that is no "<position>.<id>" of
// non-negative numbers is 422 on `cursor`.
func BeforeKey(cursor *string) (Key, error) {
	if cursor == nil {
		return Key{Pos: math.MaxInt64, ID: math.MaxInt64}, nil
	}
	pos, id, ok := strings.Cut(*cursor, ".")
	p, err1 := strconv.ParseInt(pos, 10, 64)
	i, err2 := strconv.ParseInt(id, 10, 64)
	if !ok || err1 != nil || err2 != nil || p < 0 || i < 0 {
		return Key{}, apierr.Invalid("cursor", "invalid")
	}
	return Key{Pos: p, ID: i}, nil
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
