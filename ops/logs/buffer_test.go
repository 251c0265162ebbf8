package logs

import "testing"

func TestBufferWindow(t *testing.T) {
	b := NewBuffer([]string{"a"}, 3)
	for i := range 5 {
		b.Add(Line{Host: "a", Text: string(rune('0' + i))})
	}
	text := func(ls []Line) string {
		var s string
		for _, l := range ls {
			s += l.Text
		}
		return s
	}
	for _, tc := range []struct {
		last uint64
		n    int
		want string
		held int
	}{{5, 0, "234", 3}, {5, 2, "34", 3}, {4, 0, "23", 2}, {3, 5, "2", 1}, {2, 0, "", 0}, {9, 0, "234", 3}} {
		if got := text(b.Window(nil, tc.last, tc.n)); got != tc.want || b.Held(tc.last) != tc.held {
			t.Errorf("Window(%d, %d) = %q held %d, want %q %d", tc.last, tc.n, got, b.Held(tc.last), tc.want, tc.held)
		}
	}
}
