package testenv

import (
	"fmt"
	"net"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
)

// outcome is how a helper ended a test: "fatal", "skip" or "" (went on).
type outcome struct {
	how, msg string
}

// recorder is a testing.TB whose Fatalf and Skipf record the call and end
// the helper's goroutine, as the real ones do.
type recorder struct {
	testing.TB
	got outcome
}

func (r *recorder) Helper() {}

func (r *recorder) Fatalf(format string, args ...any) {
	r.got = outcome{"fatal", fmt.Sprintf(format, args...)}
	runtime.Goexit()
}

func (r *recorder) Skipf(format string, args ...any) {
	r.got = outcome{"skip", fmt.Sprintf(format, args...)}
	runtime.Goexit()
}

// run calls fn with a recorder on its own goroutine and says how it ended.
func run(t *testing.T, fn func(tb testing.TB)) outcome {
	r := &recorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn(r)
	}()
	<-done
	return r.got
}

func TestRequireSkipsOrFails(t *testing.T) {
	present := t.TempDir()
	absent := filepath.Join(t.TempDir(), "nope")
	for _, tc := range []struct {
		name   string
		strict string
		fn     func(tb testing.TB)
		want   string
	}{
		{"file present", "1", func(tb testing.TB) { RequireFile(tb, present, "pkg") }, ""},
		{"file absent", "", func(tb testing.TB) { RequireFile(tb, absent, "pkg") }, "skip"},
		{"file absent strict", "1", func(tb testing.TB) { RequireFile(tb, absent, "pkg") }, "fatal"},
		{"file absent, other value", "yes", func(tb testing.TB) { RequireFile(tb, absent, "pkg") }, "skip"},
		{"program present", "1", func(tb testing.TB) {
			if p := RequireProgram(tb, "sh", "dash"); !filepath.IsAbs(p) {
				tb.Errorf("RequireProgram(sh) = %q, want its path", p)
			}
		}, ""},
		{"program absent", "", func(tb testing.TB) { RequireProgram(tb, "opsui-no-such-program", "pkg") }, "skip"},
		{"program absent strict", "1", func(tb testing.TB) { RequireProgram(tb, "opsui-no-such-program", "pkg") }, "fatal"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(RequireEnv, tc.strict)
			got := run(t, tc.fn)
			if got.how != tc.want {
				t.Fatalf("ended %q (%s), want %q", got.how, got.msg, tc.want)
			}
			if tc.want != "" && !strings.Contains(got.msg, "pkg") {
				t.Errorf("message %q does not say what to install", got.msg)
			}
		})
	}
}

func TestFreePort(t *testing.T) {
	port, err := FreePort("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		t.Fatalf("the free port %d cannot be listened on: %v", port, err)
	}
	l.Close()
	if _, err := FreePort("192.0.2.1"); err == nil { // TEST-NET-1: not an address of this machine
		t.Error("no error for an address this machine does not have")
	}
}

func TestWaitFor(t *testing.T) {
	start := time.Now()
	n := 0
	took := WaitFor(t, time.Minute, "the third poll", func() bool { n++; return n == 3 })
	if n != 3 || took <= 0 || took > time.Since(start) {
		t.Errorf("n %d took %v", n, took)
	}
	got := run(t, func(tb testing.TB) { WaitFor(tb, 20*time.Millisecond, "never", func() bool { return false }) })
	if got.how != "fatal" || !strings.Contains(got.msg, "never") {
		t.Errorf("a condition that never holds: %+v", got)
	}
}

func TestEnv(t *testing.T) {
	const name = "OPSUI_TESTENV_KNOB"
	for _, tc := range []struct {
		val     string
		wantInt int
		wantDur time.Duration
		intErr  bool
		durErr  bool
	}{
		{"", 7, time.Second, false, false},
		{"12", 12, 0, false, true},
		{"0", 0, 0, true, true},
		{"-3", 0, 0, true, true},
		{"x", 0, 0, true, true},
		{"250ms", 0, 250 * time.Millisecond, true, false},
	} {
		t.Setenv(name, tc.val)
		var i int
		got := run(t, func(tb testing.TB) { i = EnvInt(tb, name, 7) })
		if (got.how == "fatal") != tc.intErr || (!tc.intErr && i != tc.wantInt) {
			t.Errorf("EnvInt(%q) = %d, %+v", tc.val, i, got)
		}
		var d time.Duration
		got = run(t, func(tb testing.TB) { d = EnvDuration(tb, name, time.Second) })
		if (got.how == "fatal") != tc.durErr || (!tc.durErr && d != tc.wantDur) {
			t.Errorf("EnvDuration(%q) = %v, %+v", tc.val, d, got)
		}
	}
}

func TestParseSizes(t *testing.T) {
	const name = "OPSUI_CAPBENCH_SIZES"
	if got, err := ParseSizes(name, " 2, 10,50"); err != nil || !slices.Equal(got, []int{2, 10, 50}) {
		t.Errorf("ParseSizes = %v, %v", got, err)
	}
	for _, bad := range []string{"", "2,,10", "0", "-3", "ten", "2;10"} {
		if _, err := ParseSizes(name, bad); err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("ParseSizes(%q) = %v, want an error naming %s", bad, err, name)
		}
	}
}
