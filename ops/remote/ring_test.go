package remote

import (
	"fmt"
	"sync"
	"testing"
)

func TestRing(t *testing.T) {
	tests := []struct {
		capacity, push, last int
		want                 string
		dropped              uint64
	}{
		{3, 0, 0, "[]", 0},
		{3, 2, 0, "[1 2]", 0},
		{3, 3, 0, "[1 2 3]", 0},
		{3, 5, 0, "[3 4 5]", 2},
		{3, 5, 2, "[4 5]", 2},
		{3, 5, 9, "[3 4 5]", 2},
		{3, 6, 3, "[4 5 6]", 3},
		{3, 7, 1, "[7]", 4},
		{1, 4, 0, "[4]", 3},
		{0, 2, 0, "[2]", 1}, // capacity is at least 1
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("cap%d/push%d/last%d", tc.capacity, tc.push, tc.last), func(t *testing.T) {
			r := NewRing[int](tc.capacity)
			for i := 1; i <= tc.push; i++ {
				r.Push(i)
			}
			if got := fmt.Sprint(r.Last(tc.last)); got != tc.want {
				t.Errorf("Last(%d) = %s, want %s", tc.last, got, tc.want)
			}
			if r.Dropped() != tc.dropped || r.Total() != uint64(tc.push) || r.Len() != tc.push-int(tc.dropped) {
				t.Errorf("dropped %d total %d len %d", r.Dropped(), r.Total(), r.Len())
			}
		})
	}
}

func TestRingBatchAndReset(t *testing.T) {
	r := NewRing[string](4)
	r.PushAll("a", "b", "c", "d", "e", "f")
	buf := make([]string, 0, 8)
	buf = r.AppendLast(buf, 0)
	if fmt.Sprint(buf) != "[c d e f]" || r.Cap() != 4 {
		t.Errorf("AppendLast = %v", buf)
	}
	r.Reset()
	if r.Len() != 0 || r.Total() != 0 || r.Dropped() != 0 || len(r.Last(0)) != 0 {
		t.Errorf("after Reset: len %d total %d", r.Len(), r.Total())
	}
	r.Push("g")
	if fmt.Sprint(r.Last(0)) != "[g]" {
		t.Errorf("after Reset and Push: %v", r.Last(0))
	}
}

// TestRingConcurrent runs a writer against readers (under -race) and
// checks every snapshot is a run of consecutive values.
func TestRingConcurrent(t *testing.T) {
	r := NewRing[int](100)
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := 1; i <= 20000; i++ {
			r.Push(i)
		}
	})
	for range 3 {
		wg.Go(func() {
			var buf []int
			for range 2000 {
				buf = r.AppendLast(buf[:0], 50)
				for i := 1; i < len(buf); i++ {
					if buf[i] != buf[i-1]+1 {
						t.Errorf("snapshot not consecutive: %v", buf)
						return
					}
				}
			}
		})
	}
	wg.Wait()
	if r.Total() != 20000 || r.Dropped() != 19900 {
		t.Errorf("total %d dropped %d", r.Total(), r.Dropped())
	}
}

func BenchmarkRingPush(b *testing.B) {
	r := NewRing[string](10000)
	b.ReportAllocs()
	for b.Loop() {
		r.Push("a line of output")
	}
}

// BenchmarkRingLast takes the 50 lines a pane shows from a full ring.
func BenchmarkRingLast(b *testing.B) {
	r := NewRing[string](10000)
	for i := range 15000 {
		r.Push(fmt.Sprint(i))
	}
	var buf []string
	b.ReportAllocs()
	for b.Loop() {
		buf = r.AppendLast(buf[:0], 50)
	}
}

// BenchmarkRingPushWithReader pushes while a renderer snapshots.
func BenchmarkRingPushWithReader(b *testing.B) {
	r := NewRing[string](10000)
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		var buf []string
		for {
			select {
			case <-stop:
				return
			default:
				buf = r.AppendLast(buf[:0], 50)
			}
		}
	}()
	b.ReportAllocs()
	for b.Loop() {
		r.Push("a line of output")
	}
	close(stop)
	<-done
}
