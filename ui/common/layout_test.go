package common

import (
	"math/rand/v2"
	"strings"
	"testing"

	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"
)

// pieces are what the console's lines are made of, and what they must
// not be mistaken for: SGR and other escapes, the narrow symbols, wide,
// combining and emoji runes, tabs, CRLF, control characters.
var pieces = []string{"a", "host0042", " ", "  ", "·", "…", "●", "▸", "│", "╭─╮", "↑/k", "→",
	"\x1b[1m", "\x1b[m", "\x1b[38;2;250;100;0m", "\x1b[7;1m", "\x1b[0m", "\x1b]8;;http://x\x07", "\x1b[?25l",
	"\x1b[", "\x1b", "日本", "é", "e\u0301", "👍", "❤\ufe0f", "▶\ufe0f", "◽", "\u200d", "\t", "\r\n", "\x07", "\x7f", "\xff"}

func randomText(r *rand.Rand, lines int) string {
	var b strings.Builder
	for l := range lines {
		if l > 0 {
			b.WriteByte('\n')
		}
		for range r.IntN(12) {
			b.WriteString(pieces[r.IntN(len(pieces))])
		}
	}
	return b.String()
}

// TestWidthIsLipglossWidth: Width measures as lipgloss.Width on every
// piece alone and in random lines of them, and on every rune it takes
// for narrow, alone and between others.
func TestWidthIsLipglossWidth(t *testing.T) {
	for _, p := range pieces {
		if got, want := Width(p), lipgloss.Width(p); got != want {
			t.Errorf("Width(%q) = %d, lipgloss says %d", p, got, want)
		}
	}
	if len(narrowRunes) < 300 {
		t.Errorf("only %d narrow runes: the table is not what it was built for", len(narrowRunes))
	}
	for r := range narrowRunes {
		for _, s := range []string{string(r), "a" + string(r) + "b", string(r) + string(r), "\x1b[1m" + string(r) + "\x1b[m"} {
			if got, want := Width(s), ansi.StringWidth(s); got != want {
				t.Errorf("Width(%q) = %d, ansi says %d", s, got, want)
			}
		}
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 20000 {
		s := randomText(r, 1+r.IntN(3))
		if got, want := Width(s), lipgloss.Width(s); got != want {
			t.Fatalf("Width(%q) = %d, lipgloss says %d", s, got, want)
		}
	}
}

// TestLayoutIsLipglossLayout: JoinHorizontal, FixHeight and JoinVertical
// give lipgloss's bytes on random blocks (ragged, taller and shorter than
// the height, with tabs and CRLF).
func TestLayoutIsLipglossLayout(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for range 3000 {
		a, b, c := randomText(r, 1+r.IntN(6)), randomText(r, 1+r.IntN(6)), randomText(r, 1+r.IntN(3))
		h := 1 + r.IntN(8)
		if got, want := JoinHorizontal(NewBlock(a), NewBlock(b)).String(), lipgloss.JoinHorizontal(lipgloss.Top, a, b); got != want {
			t.Fatalf("JoinHorizontal(%q, %q):\n%q\nlipgloss:\n%q", a, b, got, want)
		}
		if got, want := FixHeight(NewBlock(a), h).String(), lipgloss.NewStyle().Height(h).MaxHeight(h).Render(a); got != want {
			t.Fatalf("FixHeight(%q, %d):\n%q\nlipgloss:\n%q", a, h, got, want)
		}
		if got, want := JoinVertical(NewBlock(a), NewBlock(b), NewBlock(c)), lipgloss.JoinVertical(lipgloss.Left, a, b, c); got != want {
			t.Fatalf("JoinVertical(%q, %q, %q):\n%q\nlipgloss:\n%q", a, b, c, got, want)
		}
		// The console's frame: panes side by side, cut to the body's
		// height, between a header and a footer.
		body := FixHeight(JoinHorizontal(NewBlock(a), NewBlock(b)), h)
		want := lipgloss.JoinVertical(lipgloss.Left, c, lipgloss.NewStyle().Height(h).MaxHeight(h).Render(lipgloss.JoinHorizontal(lipgloss.Top, a, b)), "footer")
		if got := JoinVertical(NewBlock(c), body, NewBlock("footer")); got != want {
			t.Fatalf("frame of %q, %q, %q at %d:\n%q\nlipgloss:\n%q", a, b, c, h, got, want)
		}
	}
}
