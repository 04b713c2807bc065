package bench

import (
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"testing"
)

// cpuUse is how busy the whole machine was over a phase: the fraction of CPU time (every core)
// not idle nor waiting for I/O, from /proc/stat read before and after, and the 1-minute load
// average at the end. It counts every process on the machine, the benchmark's clients and
// PostgreSQL included (all of them share the cores the server runs on): a figure beside a busy
// fraction well under 100 % was limited by something other than the CPU (a queue, a lock).
type cpuUse struct {
	busy float64
	load float64
}

// cpuMark is one reading of /proc/stat's first line.
type cpuMark struct{ busy, total uint64 }

// startCPU reads the counters at the start of a phase.
func startCPU() cpuMark { return readCPU() }

// stop reads them again and returns the phase's busy fraction (0 when /proc/stat is missing).
func (m cpuMark) stop() cpuUse {
	end := readCPU()
	u := cpuUse{load: loadAvg()}
	if end.total > m.total {
		u.busy = float64(end.busy-m.busy) / float64(end.total-m.total)
	}
	return u
}

func readCPU() cpuMark {
	raw, err := os.ReadFile("/proc/stat")
	if err != nil {
		return cpuMark{}
	}
	line, _, _ := strings.Cut(string(raw), "\n")
	fields := strings.Fields(line)
	if len(fields) < 5 || fields[0] != "cpu" {
		return cpuMark{}
	}
	var m cpuMark
	// user nice system idle iowait irq softirq steal (guest time is already in user)
	for i, f := range fields[1:min(len(fields), 9)] {
		v, _ := strconv.ParseUint(f, 10, 64)
		m.total += v
		if i != 3 && i != 4 {
			m.busy += v
		}
	}
	return m
}

func loadAvg() float64 {
	raw, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0
	}
	f, _, _ := strings.Cut(string(raw), " ")
	v, _ := strconv.ParseFloat(f, 64)
	return v
}

// profilePhase writes a CPU profile of the phase, and an allocation profile to diff against the
// one taken at its start (`go tool pprof -sample_index=alloc_space -diff_base start end`), into
// LEDGER_BENCH_PROFILE (a directory) when it is set; the files are named after the scenario. The
// server runs in the benchmark's process, so the profiles hold the server and the clients (the
// clients' share is under net/http.(*Transport) and bench.(*lbBench)).
func profilePhase(b *testing.B, name string) (stop func()) {
	dir := os.Getenv("LEDGER_BENCH_PROFILE")
	if dir == "" {
		return func() {}
	}
	slug := strings.NewReplacer(", ", "-", " ", "-", "→", "to").Replace(name)
	writeAllocs := func(suffix string) {
		runtime.GC() // the allocation profile is as of the last collection
		f, err := os.Create(filepath.Join(dir, slug+"."+suffix+".allocs.pprof"))
		if err != nil {
			b.Fatal(err)
		}
		defer f.Close()
		if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
			b.Fatal(err)
		}
	}
	writeAllocs("start")
	f, err := os.Create(filepath.Join(dir, slug+".cpu.pprof"))
	if err != nil {
		b.Fatal(err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		b.Fatal(err)
	}
	return func() {
		pprof.StopCPUProfile()
		_ = f.Close()
		writeAllocs("end")
	}
}
