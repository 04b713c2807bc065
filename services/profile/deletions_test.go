package profile_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/flowxi/backend/gen/db"
	"github.com/flowxi/backend/infra/blob/deletions"
	"github.com/flowxi/backend/infra/pg"
	"github.com/flowxi/backend/testkit"
)

// queued is the storage_deletions row of key: whether it exists, its attempts and last error.
func queued(t *testing.T, env *testkit.Env, key string) (bool, int, string) {
	t.Helper()
	var attempts int
	var last *string
	err := env.QueryRow("SELECT attempts, last_error FROM storage_deletions WHERE key = $1", key).Scan(&attempts, &last)
	if pg.IsNotFound(err) {
		return false, 0, ""
	}
	if err != nil {
		t.Fatal(err)
	}
	if last == nil {
		return true, attempts, ""
	}
	return true, attempts, *last
}

// runDeletions works the storage.delete jobs due now (RunDueJobs) and returns how many of
// keys were deleted by them: their rows are gone.
func runDeletions(t *testing.T, env *testkit.Env, keys ...string) int {
	t.Helper()
	before := map[string]bool{}
	for _, k := range keys {
		before[k], _, _ = queued(t, env, k)
	}
	env.RunDueJobs()
	n := 0
	for _, k := range keys {
		if ok, _, _ := queued(t, env, k); before[k] && !ok {
			n++
		}
	}
	return n
}

// A replaced photo whose delete fails is not forgotten: the upload succeeds, the old key stays
// queued with the error, and the worker deletes it once storage works again.
func TestReplacedPhotoIsDeletedOnceStorageRecovers(t *testing.T) {
	env := testkit.New(t)
	u := env.CreateUser()
	if r := upload(env, u.Token, testkit.File{Name: "a.png", Data: pngImage(t, 8, 8)}, "en"); r.Status != 200 {
		t.Fatalf("first upload: %d %s", r.Status, r.Body)
	}
	old := dbPhotoKey(t, env, u.ID)
	if ok, _, _ := queued(t, env, old); ok {
		t.Fatal("a committed upload left its guard")
	}
	// Break the storage for that object only: its file becomes a non-empty directory, which
	// cannot be removed (even by root).
	path := filepath.Join(env.Cfg.DataDir, "storage", "objects", filepath.FromSlash(old))
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(path, "obstacle"), 0o700); err != nil {
		t.Fatal(err)
	}

	if r := upload(env, u.Token, testkit.File{Name: "b.png", Data: pngImage(t, 9, 9)}, "en"); r.Status != 200 {
		t.Fatalf("second upload: %d %s", r.Status, r.Body)
	}
	ok, _, lastErr := queued(t, env, old)
	if !ok || !strings.Contains(lastErr, "delete") {
		t.Fatalf("old key queued %v, last error %q", ok, lastErr)
	}
	if runDeletions(t, env, old) != 0 {
		t.Fatal("deleted before it was due")
	}
	env.Clock.Advance(deletions.Backoff(1) + time.Second)
	if runDeletions(t, env, old) != 0 {
		t.Fatal("deleted through a broken storage")
	}
	if ok, attempts, _ := queued(t, env, old); !ok || attempts != 1 {
		t.Fatalf("after a failed retry: queued %v, attempts %d", ok, attempts)
	}

	if err := os.RemoveAll(path); err != nil { // storage works again
		t.Fatal(err)
	}
	env.Clock.Advance(deletions.Backoff(1) + time.Second)
	if n := runDeletions(t, env, old); n != 1 {
		t.Fatalf("%d deleted", n)
	}
	if ok, _, _ := queued(t, env, old); ok {
		t.Fatal("row left after the delete")
	}
	if keys := photoKeys(t, env, u.ID); len(keys) != 1 || keys[0] != dbPhotoKey(t, env, u.ID) {
		t.Fatalf("objects %v", keys)
	}
}

// A process that dies between writing an object and committing its key leaves a guard: the
// worker deletes the object once the grace is over, not before.
func TestInterruptedUploadIsCleanedUp(t *testing.T) {
	env := testkit.New(t)
	ctx := context.Background()
	key := "profile_photos/user_999_interruptedupload00.jpg"
	if err := env.Deletions().Guard(ctx, key); err != nil {
		t.Fatal(err)
	}
	if err := env.Storage().Put(ctx, key, strings.NewReader("x"), 1, "image/jpeg"); err != nil {
		t.Fatal(err)
	}
	// ... and here the process died.
	if runDeletions(t, env, key) != 0 {
		t.Fatal("an upload in progress lost its object")
	}
	env.Clock.Advance(deletions.UploadGrace + time.Second)
	if n := runDeletions(t, env, key); n != 1 {
		t.Fatalf("%d deleted", n)
	}
	if keys := photoKeys(t, env, 999); len(keys) != 0 {
		t.Fatalf("objects %v", keys)
	}
	if ok, _, _ := queued(t, env, key); ok {
		t.Fatal("row left")
	}
}

// An upload slower than the grace cannot commit a key whose object the worker may have deleted;
// nor can it claim a guard a worker has leased.
func TestGuardCannotBeClaimedLate(t *testing.T) {
	env := testkit.New(t)
	ctx := context.Background()
	claim := func(key string) error {
		return env.Store().Tx(ctx, func(q *db.Queries) error { return env.Deletions().Claim(ctx, q, key) })
	}
	for _, k := range []string{"late", "leased", "intime"} {
		if err := env.Deletions().Guard(ctx, "test/"+k); err != nil {
			t.Fatal(err)
		}
	}
	if err := claim("test/intime"); err != nil {
		t.Fatalf("claim in time: %v", err)
	}
	env.Clock.Advance(deletions.UploadGrace)
	if err := claim("test/late"); !errors.Is(err, deletions.ErrGuardLost) {
		t.Fatalf("late claim: %v", err)
	}
	if err := env.TryExecSQL("UPDATE storage_deletions SET attempts = 1, not_before = not_before + interval '1 hour' WHERE key = 'test/leased'"); err != nil {
		t.Fatal(err)
	}
	if err := claim("test/leased"); !errors.Is(err, deletions.ErrGuardLost) {
		t.Fatalf("claim of a leased guard: %v", err)
	}
	if err := claim("test/unknown"); !errors.Is(err, deletions.ErrGuardLost) {
		t.Fatalf("claim without a guard: %v", err)
	}
}
