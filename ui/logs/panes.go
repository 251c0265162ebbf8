package logs

import "github.com/opsui/opsui/ops/logs"

// The split layout's panes scroll one at a time: the moves act on the
// focused pane, and scrolling it up holds it (its lines stay put while new
// ones arrive, counted in its title) until it is scrolled back down to its
// newest line, or G follows everything again. A held pane shows the rows
// up to pausedAt[host], a row number of its ring.

// paneHeld reports whether host's pane stays on the rows up to pausedAt.
func (v *Model) paneHeld(host string) bool { return v.paused || v.held[host] }

// paneSkip returns how many of host's newest rows its pane leaves out.
func (v *Model) paneSkip(host string) int {
	r := v.perHost[host]
	if r == nil || !v.paneHeld(host) || v.pausedAt[host] >= r.Total() {
		return 0
	}
	return int(r.Total() - v.pausedAt[host])
}

// paneHeight is about how many rows a pane shows (for the page moves and
// to put a match mid-pane).
func (v *Model) paneHeight() int {
	h := v.height - 1
	if v.showErrs && h >= 6 {
		h -= max(4, h/3)
	}
	fit := max(1, min(len(v.hosts), h/4))
	return max(1, h/fit-1)
}

// scrollPane moves the focused pane n rows towards older lines (n < 0:
// newer). A global pause becomes a hold of every pane first, so each can
// then move alone; reaching the newest row follows again.
func (v *Model) scrollPane(n int) {
	if len(v.hosts) == 0 {
		return
	}
	if v.paused {
		for _, h := range v.hosts {
			v.held[h] = true
		}
		v.paused = false
		v.offset, v.unseen, v.match = 0, 0, 0
	}
	host := v.hosts[v.focus]
	r := v.perHost[host]
	skip := min(max(0, v.paneSkip(host)+n), max(0, r.Len()-1))
	if skip == 0 && n < 0 {
		v.held[host] = false
		return
	}
	if skip > 0 || v.held[host] {
		v.held[host] = true
		v.pausedAt[host] = r.Total() - uint64(skip)
	}
}

// findPaneMatch moves the focused pane to the next row matching the search
// towards older rows (dir > 0) or newer ones, from its last match or its
// newest shown row, and holds the pane there.
func (v *Model) findPaneMatch(dir int) {
	host := v.hosts[v.focus]
	r := v.perHost[host]
	rows := r.Last(0)
	n := len(rows)
	from := v.paneSkip(host) // counted from the newest, 1-based
	if v.matchHost == host && v.paneMatch > 0 && r.Total()-v.paneMatch < uint64(n) {
		from = int(r.Total()-v.paneMatch) + 1
	}
	for i := from + dir; i >= 1 && i <= n; i += dir {
		if l := rows[n-i]; l.Kind == logs.KindLine && v.search.Match(l.Text) {
			v.matchHost, v.paneMatch = host, r.Total()-uint64(i)+1
			skip := max(0, i-1-v.paneHeight()/2)
			if v.paused {
				v.scrollPane(0) // every pane held on its own
			}
			v.held[host] = true
			v.pausedAt[host] = r.Total() - uint64(skip)
			return
		}
	}
	if dir > 0 {
		v.note = "no older match in " + host
	} else {
		v.note = "no newer match in " + host
	}
}
