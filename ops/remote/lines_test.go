package remote

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"
)

// splitAll writes chunks to a splitter with opts, closes it and returns
// the events.
func splitAll(opts SplitOptions, chunks ...string) []Event {
	var evs []Event
	s := NewLineSplitter(EventStdout, opts, func(ev Event) { evs = append(evs, ev) })
	for _, c := range chunks {
		s.Write([]byte(c))
	}
	s.Close()
	return evs
}

func TestLineSplitter(t *testing.T) {
	tests := []struct {
		name   string
		opts   SplitOptions
		chunks []string
		want   []string // display lines; a "~" suffix marks Truncated
	}{
		{"lines", SplitOptions{}, []string{"a\nb\n"}, []string{"a", "b"}},
		{"split across writes", SplitOptions{}, []string{"he", "llo\nwor", "ld"}, []string{"hello", "world"}},
		{"partial last line", SplitOptions{}, []string{"a\nb"}, []string{"a", "b"}},
		{"empty lines", SplitOptions{}, []string{"\n\n"}, []string{"", ""}},
		{"crlf", SplitOptions{}, []string{"a\r\nb\r", "\n"}, []string{"a", "b"}},
		{"carriage returns", SplitOptions{}, []string{"\r1\r2\r3\n"}, []string{"3"}},
		{"trailing carriage return", SplitOptions{}, []string{"50%\r100%\r\r\n"}, []string{"100%"}},
		{"tab", SplitOptions{}, []string{"a\tb\n"}, []string{"a\tb"}},
		{"invalid utf-8", SplitOptions{}, []string{"a\xffb\xfe\xfdc\n"}, []string{"a\uFFFDb\uFFFDc"}},
		{"controls", SplitOptions{}, []string{"a\x00b\x1b[31mc\x7f\n"}, []string{"a\u2400b\u241b[31mc\u2421"}},
		{"c1 control", SplitOptions{}, []string{"a\u009b2Jb\n"}, []string{"a\uFFFD2Jb"}},
		{"valid utf-8 kept", SplitOptions{}, []string{"héllo wörld ✓ \uFFFD\n"}, []string{"héllo wörld ✓ \uFFFD"}},
		{"cut ascii", SplitOptions{MaxLineLen: 8}, []string{"0123456789\n"}, []string{"01234567~"}},
		{"cut at a rune boundary", SplitOptions{MaxLineLen: 5}, []string{"ééééé\n"}, []string{"éé~"}},
		{"cut visible controls", SplitOptions{MaxLineLen: 7}, []string{"\x00\x00\x00\n"}, []string{"\u2400\u2400~"}},
		{"fits exactly", SplitOptions{MaxLineLen: 4}, []string{"abcd\n"}, []string{"abcd"}},
		{"raw pieces", SplitOptions{MaxRawLen: 4}, []string{"abcdefghij\nk"}, []string{"abcd~", "efgh~", "ij~", "k"}},
		{"raw piece ends with the line", SplitOptions{MaxRawLen: 4}, []string{"abcdefgh\n"}, []string{"abcd~", "efgh~"}},
		{"raw pieces across writes", SplitOptions{MaxRawLen: 4}, []string{"ab", "cdef", "g\n"}, []string{"abcd~", "efg~"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			evs := splitAll(tc.opts, tc.chunks...)
			var got []string
			var raw []byte
			for _, ev := range evs {
				if ev.Kind != EventStdout {
					t.Fatalf("unexpected %v event %q", ev.Kind, ev.Line)
				}
				s := ev.Line
				if ev.Truncated {
					s += "~"
				}
				got = append(got, s)
				raw = append(raw, ev.Raw...)
			}
			if fmt.Sprintf("%q", got) != fmt.Sprintf("%q", tc.want) {
				t.Errorf("lines %q, want %q", got, tc.want)
			}
			if in := strings.Join(tc.chunks, ""); string(raw) != in {
				t.Errorf("raw %q, want %q", raw, in)
			}
		})
	}
}

func TestLineSplitterRawIsPrivate(t *testing.T) {
	var evs []Event
	s := NewLineSplitter(EventStderr, SplitOptions{}, func(ev Event) { evs = append(evs, ev) })
	buf := []byte("one\ntwo\n")
	s.Write(buf)
	copy(buf, "XXXXXXXX")
	evs[0].Raw = append(evs[0].Raw, "!!"...) // must not clobber "two"
	if string(evs[1].Raw) != "two\n" || evs[1].Kind != EventStderr {
		t.Errorf("second line's raw %q", evs[1].Raw)
	}
}

func TestLineSplitterClosed(t *testing.T) {
	s := NewLineSplitter(EventStdout, SplitOptions{}, func(Event) {})
	s.Close()
	if _, err := s.Write([]byte("x")); !errors.Is(err, ErrSplitterClosed) {
		t.Errorf("write after close: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second close: %v", err)
	}
}

// TestLineSplitterProgress checks progress is rate-limited, that the last
// update of a burst still arrives, and that the finished line follows.
func TestLineSplitterProgress(t *testing.T) {
	const every = 50 * time.Millisecond
	var mu sync.Mutex
	var evs []Event
	s := NewLineSplitter(EventStdout, SplitOptions{ProgressInterval: every}, func(ev Event) {
		ev.Time = time.Now()
		mu.Lock()
		evs = append(evs, ev)
		mu.Unlock()
	})
	snapshot := func() []string {
		mu.Lock()
		defer mu.Unlock()
		var out []string
		for _, ev := range evs {
			out = append(out, ev.Kind.String()+":"+ev.Line)
		}
		return out
	}
	for i := 1; i <= 100; i++ {
		fmt.Fprintf(s, "\r%d%%", i)
	}
	if got := snapshot(); fmt.Sprint(got) != "[progress:1%]" {
		t.Fatalf("after a burst: %v", got)
	}
	time.Sleep(3 * every)
	if got := snapshot(); fmt.Sprint(got) != "[progress:1% progress:100%]" {
		t.Fatalf("after the interval: %v", got)
	}
	s.Write([]byte("\rdone\n"))
	fmt.Fprintf(s, "\rnext")
	time.Sleep(3 * every)
	s.Close()
	want := "[progress:1% progress:100% stdout:done progress:next stdout:next]"
	if got := snapshot(); fmt.Sprint(got) != want {
		t.Fatalf("events %v, want %v", got, want)
	}
	mu.Lock()
	defer mu.Unlock()
	if gap := evs[1].Time.Sub(evs[0].Time); gap < every {
		t.Errorf("progress events %v apart", gap)
	}
}

// FuzzLineSplitter checks, for any input cut into any writes, that the raw
// bytes come back whole and every display line is safe to print.
func FuzzLineSplitter(f *testing.F) {
	f.Add([]byte("a\nb\r\nc\rd\x00\xff\n"), uint8(3), uint8(5))
	f.Add([]byte("\r\r\r\n\n"), uint8(1), uint8(1))
	f.Add([]byte("ééé\u009b\x1b"), uint8(2), uint8(4))
	f.Fuzz(func(t *testing.T, in []byte, cut, maxLine uint8) {
		opts := SplitOptions{MaxLineLen: int(maxLine%16) + 1, MaxRawLen: int(cut%8) + 1}
		var raw []byte
		s := NewLineSplitter(EventStdout, opts, func(ev Event) {
			raw = append(raw, ev.Raw...)
			if !utf8.ValidString(ev.Line) || len(ev.Line) > opts.MaxLineLen {
				t.Fatalf("display line %q", ev.Line)
			}
			for _, r := range ev.Line {
				if (r < 0x20 && r != '\t') || (r >= 0x7f && r < 0xa0) {
					t.Fatalf("control %U in %q", r, ev.Line)
				}
			}
		})
		for p := in; len(p) > 0; {
			n := min(len(p), int(cut)+1)
			s.Write(p[:n])
			p = p[n:]
		}
		s.Close()
		if !bytes.Equal(raw, in) {
			t.Fatalf("raw %q, want %q", raw, in)
		}
	})
}

// benchInput returns about 4 MiB of output of the given shape.
func benchInput(shape string) []byte {
	rng := rand.New(rand.NewPCG(1, 2))
	var b bytes.Buffer
	for b.Len() < 4<<20 {
		switch shape {
		case "short":
			fmt.Fprintf(&b, "%s 2026-11-23T09:39:03Z INFO request served path=/api/v1/items/%d status=200\n", "web1", rng.IntN(1e6))
		case "long":
			b.WriteString(strings.Repeat("x", 8<<10) + "\n")
		case "binary":
			var chunk [4096]byte
			for i := range chunk {
				chunk[i] = byte(rng.Uint32())
			}
			b.Write(chunk[:])
		case "progress":
			fmt.Fprintf(&b, "\r%3d%% [%-50s]", rng.IntN(100), strings.Repeat("#", rng.IntN(50)))
			if rng.IntN(100) == 0 {
				b.WriteByte('\n')
			}
		}
	}
	return b.Bytes()
}

// BenchmarkLineSplitter feeds output in 32 KiB writes, as a session
// delivers it.
func BenchmarkLineSplitter(b *testing.B) {
	for _, shape := range []string{"short", "long", "binary", "progress"} {
		b.Run(shape, func(b *testing.B) {
			in := benchInput(shape)
			lines := 0
			s := NewLineSplitter(EventStdout, SplitOptions{}, func(Event) { lines++ })
			b.SetBytes(int64(len(in)))
			b.ReportAllocs()
			for b.Loop() {
				for p := in; len(p) > 0; {
					n := min(len(p), 32<<10)
					s.Write(p[:n])
					p = p[n:]
				}
			}
			s.Close()
			b.ReportMetric(float64(lines)/float64(b.N), "lines/op")
		})
	}
}
