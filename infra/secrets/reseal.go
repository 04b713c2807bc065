package secrets

import (
	"context"
	"fmt"
)

// A Resealer brings one kind of stored ciphertext to the newest encryption key, a batch at a
// time (`flowxi keys reencrypt`). The package that owns the data (and its AAD) provides it.
type Resealer struct {
	// Name says what is rewritten ("users.twofa_secret_enc").
	Name string
	// Batch rewrites, in one transaction, at most max rows with an id above after that are
	// not yet under the newest key, each with a compare-and-set on the ciphertext it read, so
	// a row the server changed meanwhile keeps the server's value (written under the newest
	// key already, once every instance runs the new ring).
	Batch func(ctx context.Context, after int64, max int) (Batch, error)
	// Pending counts the rows not yet under the newest key.
	Pending func(ctx context.Context) (int64, error)
}

// Batch is what one batch did: the last id it read (the next batch starts after it), how
// many rows it read and how many it rewrote (read - rewritten: changed meanwhile).
type Batch struct {
	Last      int64
	Read      int
	Rewritten int64
}

// Reencrypt runs each resealer's batches from the first id until a batch reads fewer than
// size rows. Every batch commits on its own, and rows already under the newest key are never
// read again, so an interrupted run loses nothing: run it again and it goes on where the data
// says. report (optional) hears of every batch; ctx stops the run between batches.
func Reencrypt(ctx context.Context, rs []Resealer, size int, report func(name string, b Batch)) error {
	if size < 1 {
		return fmt.Errorf("secrets: batch size %d: want at least 1", size)
	}
	for _, r := range rs {
		var after int64
		for {
			if err := ctx.Err(); err != nil {
				return err
			}
			b, err := r.Batch(ctx, after, size)
			if err != nil {
				return fmt.Errorf("%s: after id %d: %w", r.Name, after, err)
			}
			if report != nil {
				report(r.Name, b)
			}
			if b.Read < size {
				break
			}
			after = b.Last
		}
	}
	return nil
}

// Resealed is one row of a batch: the ciphertext read and the one that replaces it.
type Resealed struct {
	ID       int64
	Old, New []byte
}

// ResealRows reseals each row's ciphertext (nil stays nil) under the newest key; aad gives
// a row's AAD. It returns the rows in order, for the batch's compare-and-set update.
func (k *Keys) ResealRows(ids []int64, sealed [][]byte, aad func(i int) []byte) ([]Resealed, error) {
	out := make([]Resealed, len(ids))
	for i, id := range ids {
		out[i] = Resealed{ID: id, Old: sealed[i]}
		if sealed[i] == nil || k.Current(sealed[i]) {
			out[i].New = sealed[i]
			continue
		}
		n, err := k.Reseal(sealed[i], aad(i))
		if err != nil {
			return nil, fmt.Errorf("id %d: %w", id, err)
		}
		out[i].New = n
	}
	return out, nil
}

// Columns splits resealed rows into the arrays of a compare-and-set update
// (unnest($ids, $olds, $news)).
func Columns(rows []Resealed) (ids []int64, olds, news [][]byte) {
	for _, r := range rows {
		ids, olds, news = append(ids, r.ID), append(olds, r.Old), append(news, r.New)
	}
	return ids, olds, news
}
