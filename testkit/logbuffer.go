package testkit

import (
	"bytes"
	"sync"
)

// LogBuffer collects what a server writes (its log, a process's output) from many goroutines at
// once; String is safe to call while writes go on.
type LogBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *LogBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *LogBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
