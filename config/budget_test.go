package config

import (
	"testing"
	"time"
)

// The per-account guessing budget reads ACCOUNT_GUESS_LIMIT / ACCOUNT_GUESS_WINDOW, defaults to
// 10 per 15 minutes, refuses nonsense, and a zero in a hand-built Config means the default.
func TestGuessBudgetSettings(t *testing.T) {
	t.Setenv("ACCOUNT_GUESS_LIMIT", "")
	t.Setenv("ACCOUNT_GUESS_WINDOW", "")
	c, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	if n, w := c.GuessBudget(); n != 10 || w != 15*time.Minute {
		t.Fatalf("defaults %d %v", n, w)
	}
	t.Setenv("ACCOUNT_GUESS_LIMIT", "3")
	t.Setenv("ACCOUNT_GUESS_WINDOW", "1h")
	if c, err = Load(); err != nil {
		t.Fatal(err)
	}
	if n, w := c.GuessBudget(); n != 3 || w != time.Hour {
		t.Fatalf("configured %d %v", n, w)
	}
	for _, bad := range []string{"0", "-1", "ten"} {
		t.Setenv("ACCOUNT_GUESS_LIMIT", bad)
		if _, err := Load(); err == nil {
			t.Fatalf("ACCOUNT_GUESS_LIMIT=%s accepted", bad)
		}
	}
	if n, w := (Config{}).GuessBudget(); n != 10 || w != 15*time.Minute {
		t.Fatalf("zero values %d %v", n, w)
	}
}
