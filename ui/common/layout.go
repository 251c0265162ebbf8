package common

import "strings"

// The screen's layout, as lipgloss lays it out (JoinHorizontal,
// JoinVertical, a Style's Height and MaxHeight) and byte for byte the
// same, but measuring each line once with Width: the console's frame
// joins and pads every line of the screen three times.

// Block is a rendered block split into its lines, each with its width, and
// its widest line's width.
type Block struct {
	Lines  []string
	Widths []int
	Widest int
	// slow: a line is not all ASCII, whole escapes and narrow runes, so
	// that a line put after it may not add its own width (an unfinished
	// escape takes the spaces after it): joined lines are measured again.
	slow bool
}

// NewBlock splits s into lines and measures them, as lipgloss reads a
// block (tabs are four spaces, CRLF a newline).
func NewBlock(s string) Block {
	if strings.IndexByte(s, '\t') >= 0 {
		s = strings.ReplaceAll(s, "\t", "    ")
	}
	if strings.IndexByte(s, '\r') >= 0 {
		s = strings.ReplaceAll(s, "\r\n", "\n")
	}
	b := Block{Lines: strings.Split(s, "\n")}
	b.Widths = make([]int, len(b.Lines))
	for i, l := range b.Lines {
		w, fast := lineWidth(l)
		b.Widths[i], b.slow = w, b.slow || !fast
		b.Widest = max(b.Widest, w)
	}
	return b
}

// remeasure measures b's lines again when a slow line was joined into
// them, and their widest.
func (b Block) remeasure() Block {
	if !b.slow {
		return b
	}
	b.Widest = 0
	for i, l := range b.Lines {
		b.Widths[i], _ = lineWidth(l)
		b.Widest = max(b.Widest, b.Widths[i])
	}
	return b
}

// String joins the block's lines.
func (b Block) String() string { return strings.Join(b.Lines, "\n") }

// JoinHorizontal is lipgloss.JoinHorizontal(lipgloss.Top, blocks...): the
// blocks side by side, each line padded to its block's widest, the
// shorter blocks padded with empty lines at the bottom.
func JoinHorizontal(blocks ...Block) Block {
	switch len(blocks) {
	case 0:
		return Block{Lines: []string{""}, Widths: []int{0}}
	case 1:
		return blocks[0]
	}
	height, width, slow := 0, 0, false
	for _, b := range blocks {
		height = max(height, len(b.Lines))
		width += b.Widest
		slow = slow || b.slow
	}
	out := Block{Lines: make([]string, height), Widths: make([]int, height), Widest: width, slow: slow}
	var sb strings.Builder
	for i := range height {
		sb.Reset()
		sb.Grow(width * 2)
		for _, b := range blocks {
			line, w := "", 0
			if i < len(b.Lines) {
				line, w = b.Lines[i], b.Widths[i]
			}
			sb.WriteString(line)
			pad(&sb, b.Widest-w)
		}
		out.Lines[i], out.Widths[i] = sb.String(), width
	}
	return out.remeasure()
}

// FixHeight is lipgloss.NewStyle().Height(h).MaxHeight(h).Render(b): b
// cut or padded with empty lines to h lines, every line padded with
// spaces to the widest (the lines cut off count).
func FixHeight(b Block, h int) Block {
	if h <= 0 {
		return b
	}
	lines, widths := b.Lines, b.Widths
	for len(lines) < h {
		lines, widths = append(lines[:len(lines):len(lines)], ""), append(widths[:len(widths):len(widths)], 0)
	}
	if len(lines) == 1 {
		return Block{Lines: lines, Widths: widths, Widest: b.Widest, slow: b.slow} // one line is not aligned
	}
	out := Block{Lines: make([]string, h), Widths: make([]int, h), Widest: b.Widest, slow: b.slow}
	for i := range h {
		out.Lines[i], out.Widths[i] = padTo(lines[i], widths[i], b.Widest), b.Widest
	}
	return out.remeasure()
}

// JoinVertical is lipgloss.JoinVertical(lipgloss.Left, blocks...): the
// blocks one under the other, every line padded to the widest.
func JoinVertical(blocks ...Block) string {
	switch len(blocks) {
	case 0:
		return ""
	case 1:
		return blocks[0].String()
	}
	width, n := 0, 0
	for _, b := range blocks {
		width = max(width, b.Widest)
		n += len(b.Lines) * (width + 16)
	}
	var sb strings.Builder
	sb.Grow(n)
	for i, b := range blocks {
		for j, line := range b.Lines {
			sb.WriteString(line)
			pad(&sb, width-b.Widths[j]) // lipgloss measures the lines as they came
			if i < len(blocks)-1 || j < len(b.Lines)-1 {
				sb.WriteByte('\n')
			}
		}
	}
	return sb.String()
}

func padTo(line string, w, width int) string {
	if w >= width {
		return line
	}
	return line + strings.Repeat(" ", width-w)
}

func pad(sb *strings.Builder, n int) {
	for range n {
		sb.WriteByte(' ')
	}
}
