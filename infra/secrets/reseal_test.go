package secrets

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
)

// A Table with two sealed columns reseals both under the newest key with the row's AAD, leaves
// nil and current values as they are, hands Update the columns in Row's order and counts the
// batch; a ciphertext that does not open fails the batch, naming the row.
func TestTableResealsEveryColumn(t *testing.T) {
	k1, k2 := hexKey(0x11), hexKey(0x22)
	old := keysOf(t, "v1:"+k1, "v1:"+k1)
	keys := keysOf(t, "v2:"+k2+",v1:"+k1, "v1:"+k1)
	aad := func(id int64) []byte { return []byte(fmt.Sprint("row:", id)) }
	seal := func(k *Keys, id int64, s string) []byte {
		b, err := k.Encrypt([]byte(s), aad(id))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	type row struct {
		id        int64
		cur, prev []byte
	}
	current := seal(keys, 3, "c3")
	rows := []row{{1, seal(old, 1, "c1"), nil}, {3, current, seal(old, 3, "p3")}}
	var gotIDs []int64
	var got []Column
	table := Table[string, row]{
		Name: "t.secret",
		Keys: keys,
		Tx:   func(ctx context.Context, fn func(q string) error) error { return fn("tx") },
		List: func(_ context.Context, q string, after int64, header []byte, max int32) ([]row, error) {
			if q != "tx" || after != 0 || !bytes.Equal(header, keys.SealHeader()) || max != 10 {
				t.Errorf("List(%q, %d, %x, %d)", q, after, header, max)
			}
			return rows, nil
		},
		Row: func(r row) (int64, [][]byte) { return r.id, [][]byte{r.cur, r.prev} },
		AAD: func(r row) []byte { return aad(r.id) },
		Update: func(_ context.Context, _ string, ids []int64, cols []Column) (int64, error) {
			gotIDs, got = ids, cols
			return 1, nil
		},
		Count: func(_ context.Context, header []byte) (int64, error) { return int64(len(header)), nil },
	}
	r := table.Resealer()
	b, err := r.Batch(context.Background(), 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if r.Name != "t.secret" || b != (Batch{Last: 3, Read: 2, Rewritten: 1}) || fmt.Sprint(gotIDs) != "[1 3]" || len(got) != 2 {
		t.Fatalf("batch %+v, ids %v, %d columns", b, gotIDs, len(got))
	}
	want := [][2]string{{"c1", "c3"}, {"", "p3"}}
	for c, col := range got {
		for i, id := range gotIDs {
			if !bytes.Equal(col.Olds[i], [][]byte{rows[i].cur, rows[i].prev}[c]) {
				t.Errorf("column %d, row %d: old is not the value read", c, id)
			}
			if want[c][i] == "" {
				if col.News[i] != nil {
					t.Errorf("column %d, row %d: nil became %x", c, id, col.News[i])
				}
				continue
			}
			if !keys.Current(col.News[i]) {
				t.Errorf("column %d, row %d: not under the newest key", c, id)
			}
			if plain, err := keys.Decrypt(col.News[i], aad(id)); err != nil || string(plain) != want[c][i] {
				t.Errorf("column %d, row %d: %q, %v", c, id, plain, err)
			}
		}
	}
	if !bytes.Equal(got[0].News[1], current) {
		t.Error("a value under the newest key was sealed again")
	}
	if n, err := r.Pending(context.Background()); err != nil || n != int64(len(keys.SealHeader())) {
		t.Errorf("Pending: %d, %v", n, err)
	}
	rows[1].prev = seal(keysOf(t, "v1:"+hexKey(0x33), "v1:"+k1), 3, "p3")
	if _, err := r.Batch(context.Background(), 0, 10); err == nil || !strings.Contains(err.Error(), "id 3:") {
		t.Errorf("a value that does not open: %v", err)
	}
}
