package common

import (
	"strings"
	"unicode/utf8"

	"github.com/charmbracelet/x/ansi"
)

// A frame measures every line of the screen several times (a cell is
// clipped and padded, panes are joined, the body and the screen padded),
// and ansi.StringWidth segments each line into grapheme clusters: at 2 000
// hosts that was most of a frame. Width answers the same for the lines the
// console draws (ASCII, SGR escapes and a few narrow symbols) without
// segmenting, and hands anything else to ansi.StringWidth.

// narrowRunes are the non-ASCII runes the console draws that are one cell
// wide whatever follows them (none joins a grapheme cluster): the middle
// dot, punctuation (… – ‘’), arrows, box drawing, blocks and geometric
// shapes (● ▸), as ansi.StringWidth measures them (checked when built).
var narrowRunes = func() map[rune]bool {
	m := map[rune]bool{}
	add := func(lo, hi rune) {
		for r := lo; r <= hi; r++ {
			if ansi.StringWidth(string(r)) == 1 {
				m[r] = true
			}
		}
	}
	add(0xB7, 0xB7)
	add(0x2010, 0x2027)
	add(0x2190, 0x21FF)
	add(0x2500, 0x25FF)
	return m
}()

// Width is the cells s takes, its widest line's (lipgloss.Width).
func Width(s string) int {
	if strings.IndexByte(s, '\n') < 0 {
		w, _ := lineWidth(s)
		return w
	}
	w := 0
	for l := range strings.SplitSeq(s, "\n") {
		lw, _ := lineWidth(l)
		w = max(w, lw)
	}
	return w
}

// lineWidth is ansi.StringWidth(s), computed without grapheme segmentation
// (fast) when s holds only printable ASCII, whole CSI escape sequences and
// narrowRunes: the width of such lines put end to end is the sum of theirs.
func lineWidth(s string) (w int, fast bool) {
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c >= 0x20 && c < 0x7f:
			w++
			i++
		case c == 0x1b:
			n := csiLen(s[i:])
			if n == 0 {
				return ansi.StringWidth(s), false
			}
			i += n
		case c < 0x80:
			return ansi.StringWidth(s), false // other control characters
		default:
			r, n := utf8.DecodeRuneInString(s[i:])
			if !narrowRunes[r] {
				return ansi.StringWidth(s), false
			}
			w++
			i += n
		}
	}
	return w, true
}

// csiLen is the length of the CSI sequence (ESC [ parameters
// intermediates final) s starts with, 0 when it starts with none.
func csiLen(s string) int {
	if len(s) < 3 || s[0] != 0x1b || s[1] != '[' {
		return 0
	}
	i := 2
	for i < len(s) && s[i] >= 0x30 && s[i] <= 0x3f {
		i++
	}
	for i < len(s) && s[i] >= 0x20 && s[i] <= 0x2f {
		i++
	}
	if i < len(s) && s[i] >= 0x40 && s[i] <= 0x7e {
		return i + 1
	}
	return 0
}
