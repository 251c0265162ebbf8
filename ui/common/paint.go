package common

import (
	"strings"

	"charm.land/lipgloss/v2"
)

// Painter renders one-line texts in styles, as Style.Render does, with
// each style's escape codes worked out once: a fleet frame paints some
// 500 cells, and Render builds its codes again for each.
type Painter struct {
	codes map[paintKey]styleCodes
}

type paintKey struct {
	style    *lipgloss.Style
	reversed bool
}

// styleCodes are what Render puts around a one-line text; ok is false for
// a style that does more (a width, padding, a border, spaces styled apart):
// it is rendered.
type styleCodes struct {
	pre, post string
	ok        bool
}

// NewPainter is a painter for styles that do not change once painted
// with (a Context's).
func NewPainter() *Painter { return &Painter{codes: map[paintKey]styleCodes{}} }

// Paint is style.Render(text), reversed when asked (style.Reverse(true)).
func (p *Painter) Paint(style *lipgloss.Style, reversed bool, text string) string {
	k := paintKey{style, reversed}
	c, ok := p.codes[k]
	if !ok {
		c = codesOf(p.style(k))
		p.codes[k] = c
	}
	if !c.ok || strings.ContainsAny(text, "\t\r\n") {
		return p.style(k).Render(text)
	}
	return c.pre + text + c.post
}

func (p *Painter) style(k paintKey) lipgloss.Style {
	if k.reversed {
		return k.style.Reverse(true)
	}
	return *k.style
}

// codesOf finds the codes st puts around a text, and checks that it puts
// the same around others.
func codesOf(st lipgloss.Style) styleCodes {
	pre, post, found := strings.Cut(st.Render("x"), "x")
	if !found {
		return styleCodes{}
	}
	for _, probe := range []string{"", "ab  cd ", " host-01 · …  20260101120000 drift ", "●▸│"} {
		if st.Render(probe) != pre+probe+post {
			return styleCodes{}
		}
	}
	return styleCodes{pre: pre, post: post, ok: true}
}
