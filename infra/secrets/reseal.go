package secrets

import (
	"context"
	"fmt"
)

// A Resealer brings one kind of stored ciphertext to the newest encryption key, a batch at a
// time (`flowxi keys reencrypt`). The package that owns the data (and its AAD) provides it,
// most simply as a Table.
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

// A Table is one kind of stored ciphertext as the package that owns it reads and rewrites it
// (its queries, its columns, its AAD); Resealer makes the batches from it. Q is what a
// transaction hands its statements (the sqlc queries), R a row of List.
type Table[Q, R any] struct {
	// Name says what is rewritten ("users.twofa_secret_enc").
	Name string
	// Keys reseal; rows whose ciphertexts start with Keys.SealHeader are under the newest key.
	Keys *Keys
	// Tx runs fn in one transaction.
	Tx func(ctx context.Context, fn func(q Q) error) error
	// List reads, in id order, at most max rows with an id above after that hold a ciphertext
	// not under header (the newest key).
	List func(ctx context.Context, q Q, after int64, header []byte, max int32) ([]R, error)
	// Row gives a row's id and its ciphertexts, one per sealed column (nil: none), the same
	// columns in the same order for every row.
	Row func(r R) (id int64, sealed [][]byte)
	// AAD gives the AAD the row's ciphertexts are sealed with.
	AAD func(r R) []byte
	// Update rewrites the batch with a compare-and-set on every column (cols in Row's order)
	// and returns how many rows it rewrote.
	Update func(ctx context.Context, q Q, ids []int64, cols []Column) (int64, error)
	// Count counts the rows holding a ciphertext not under header.
	Count func(ctx context.Context, header []byte) (int64, error)
}

// Column is one sealed column of a batch, in row order: the ciphertexts read and those that
// replace them (the same where a ciphertext was nil or under the newest key already).
type Column struct {
	Olds, News [][]byte
}

// Resealer is the table's Resealer.
func (t Table[Q, R]) Resealer() Resealer {
	return Resealer{
		Name:    t.Name,
		Batch:   t.batch,
		Pending: func(ctx context.Context) (int64, error) { return t.Count(ctx, t.Keys.SealHeader()) },
	}
}

// batch is one Resealer.Batch: list, reseal each column, compare-and-set, in one transaction.
func (t Table[Q, R]) batch(ctx context.Context, after int64, max int) (Batch, error) {
	var b Batch
	err := t.Tx(ctx, func(q Q) error {
		rows, err := t.List(ctx, q, after, t.Keys.SealHeader(), int32(max))
		if err != nil || len(rows) == 0 {
			return err
		}
		ids, sealed := t.split(rows)
		aad := func(i int) []byte { return t.AAD(rows[i]) }
		cols := make([]Column, len(sealed))
		for c := range sealed {
			if cols[c], err = t.Keys.resealColumn(ids, sealed[c], aad); err != nil {
				return err
			}
		}
		b.Last, b.Read = ids[len(ids)-1], len(ids)
		b.Rewritten, err = t.Update(ctx, q, ids, cols)
		return err
	})
	return b, err
}

// split gives the rows' ids and, per sealed column, the rows' ciphertexts (sealed[c][i]:
// column c of row i).
func (t Table[Q, R]) split(rows []R) (ids []int64, sealed [][][]byte) {
	ids = make([]int64, len(rows))
	for i, r := range rows {
		id, cs := t.Row(r)
		ids[i] = id
		if sealed == nil {
			sealed = make([][][]byte, len(cs))
			for c := range sealed {
				sealed[c] = make([][]byte, len(rows))
			}
		}
		for c, v := range cs {
			sealed[c][i] = v
		}
	}
	return ids, sealed
}

// resealColumn reseals one column of a batch (row i: id ids[i], ciphertext sealed[i]) under the
// newest key, for its compare-and-set update; nil stays nil, as does a ciphertext under the
// newest key already. aad gives row i's AAD.
func (k *Keys) resealColumn(ids []int64, sealed [][]byte, aad func(i int) []byte) (Column, error) {
	c := Column{Olds: sealed, News: make([][]byte, len(sealed))}
	for i, old := range sealed {
		if old == nil || k.Current(old) {
			c.News[i] = old
			continue
		}
		n, err := k.Reseal(old, aad(i))
		if err != nil {
			return Column{}, fmt.Errorf("id %d: %w", ids[i], err)
		}
		c.News[i] = n
	}
	return c, nil
}
