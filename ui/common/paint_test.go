package common

import (
	"math/rand/v2"
	"testing"

	"charm.land/lipgloss/v2"

	"github.com/opsui/opsui/themes"
)

// TestPaintIsRender: Paint gives Render's bytes for every style of every
// theme, plain and reversed, on random one-line texts and on texts it
// must hand to Render (tabs, newlines); a style with a width or padding
// is rendered, never painted around.
func TestPaintIsRender(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	texts := []string{"", " ", "a\tb", "two\nlines", "cr\r\nlf"}
	for range 200 {
		texts = append(texts, randomText(r, 1))
	}
	padded := lipgloss.NewStyle().Foreground(lipgloss.Color("1")).Width(12)
	spaced := lipgloss.NewStyle().Underline(true).Padding(0, 1)
	for _, th := range []themes.Theme{themes.Dark(), themes.Light(), themes.HighContrast(), themes.Dark().WithoutColor()} {
		st := NewStyles(th)
		p := NewPainter()
		for _, style := range []*lipgloss.Style{&st.Title, &st.Header, &st.Group, &st.Cursor, &st.Selected, &st.Muted,
			&st.OK, &st.Warn, &st.Error, &st.Pane, &st.Key, &st.Protected, &padded, &spaced} {
			for _, rev := range []bool{false, true} {
				want := *style
				if rev {
					want = want.Reverse(true)
				}
				for _, text := range texts {
					if got, w := p.Paint(style, rev, text), want.Render(text); got != w {
						t.Fatalf("Paint(%q, reversed %v) = %q, Render says %q", text, rev, got, w)
					}
				}
			}
		}
		if c := p.codes[paintKey{&padded, false}]; c.ok {
			t.Error("a style with a width is painted around")
		}
	}
}
