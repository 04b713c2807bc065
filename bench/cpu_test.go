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
//
// self and pg split it: the CPU seconds of the benchmark's own process (the server, its posting
// workers and the clients) and of PostgreSQL's processes (backends that exited during the phase
// included: the postmaster's reaped children's time), so a figure says where its CPU went.
type cpuUse struct {
	busy     float64
	load     float64
	self, pg float64 // CPU seconds over the phase
}

// cpuMark is one reading of /proc/stat's first line and of the processes' counters.
type cpuMark struct {
	busy, total uint64
	self, pg    float64
}

// startCPU reads the counters at the start of a phase.
func startCPU() cpuMark { return readCPU() }

// stop reads them again and returns the phase's busy fraction (0 when /proc/stat is missing).
func (m cpuMark) stop() cpuUse {
	end := readCPU()
	u := cpuUse{load: loadAvg(), self: end.self - m.self, pg: end.pg - m.pg}
	if end.total > m.total {
		u.busy = float64(end.busy-m.busy) / float64(end.total-m.total)
	}
	return u
}

// perOp renders CPU seconds per operation in milliseconds ("-" when nothing was counted).
func perOp(sec float64, ops int64) string {
	if sec <= 0 || ops == 0 {
		return "-"
	}
	return strconv.FormatFloat(1000*sec/float64(ops), 'f', 3, 64)
}

// procCPU reads the CPU seconds of this process and of every process named postgres (their
// own time, and the time of the children they reaped).
func procCPU() (self, pg float64) {
	me := os.Getpid()
	paths, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, p := range paths {
		raw, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		s := string(raw)
		open, closing := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
		if open < 0 || closing < open {
			continue
		}
		pid, _ := strconv.Atoi(strings.TrimSpace(s[:open]))
		comm := s[open+1 : closing]
		if pid != me && comm != "postgres" {
			continue
		}
		f := strings.Fields(s[closing+1:])
		if len(f) < 15 { // state is f[0]; utime, stime, cutime, cstime are f[11..14]
			continue
		}
		var ticks float64
		for _, v := range f[11:15] {
			n, _ := strconv.ParseFloat(v, 64)
			ticks += n
		}
		if pid == me {
			self = ticks / clockTicks
		} else {
			pg += ticks / clockTicks
		}
	}
	return self, pg
}

// clockTicks is USER_HZ, 100 on every Linux this runs on.
const clockTicks = 100

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
	m.self, m.pg = procCPU()
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
